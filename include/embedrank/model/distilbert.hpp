#pragma once
/// DistilBERT (modeling_distilbert.py) is the post-LN BERT block under other
/// names; weights_tools/convert.py maps them onto BERT's (q_lin/k_lin/v_lin ->
/// attention.self.qkv, out_lin -> attention.output.dense, sa_layer_norm ->
/// attention.output.LayerNorm, ffn.lin1/lin2 -> intermediate/output.dense,
/// output_layer_norm -> output.LayerNorm). What remains different:
///   - no token-type embeddings (config.type_vocab_size = 0);
///   - MultiHeadSelfAttention divides q by sqrt(HS) *before* Q K^T;
///   - LayerNorm eps is fixed at 1e-12 (the converter records it).
/// Positions are BERT's 0..T-1 (sinusoidal tables are stored as weights).

namespace embedrank::model {

inline constexpr bool kDistilBertScalesQueryFirst = true;

}  // namespace embedrank::model
