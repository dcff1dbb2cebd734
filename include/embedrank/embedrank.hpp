#pragma once
/// embedrank: text embeddings and product ranking for shop backends.
/// Umbrella header; each layer can also be included on its own
/// (docs/architecture.md describes the layers).

#include "embedrank/core/enum_text.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/half.hpp"
#include "embedrank/core/large_array.hpp"
#include "embedrank/core/npy.hpp"
#include "embedrank/core/tensor.hpp"
#include "embedrank/core/thread_pool.hpp"
#include "embedrank/core/top_k.hpp"

#include "embedrank/io/metadata.hpp"
#include "embedrank/io/parameters.hpp"
#include "embedrank/io/weight_file.hpp"
#include "embedrank/io/weight_file_writer.hpp"

#include "embedrank/text/display_width.hpp"
#include "embedrank/text/tokenizer.hpp"

#include "embedrank/nn/activations.hpp"
#include "embedrank/nn/attention.hpp"
#include "embedrank/nn/layer_norm.hpp"
#include "embedrank/nn/linear.hpp"
#include "embedrank/nn/pooling.hpp"

#include "embedrank/model/config.hpp"
#include "embedrank/model/embedder.hpp"
#include "embedrank/model/sequence_classifier.hpp"
#include "embedrank/model/token_classifier.hpp"
#include "embedrank/model/token_batch.hpp"
#include "embedrank/model/transformer_encoder.hpp"

#include "embedrank/cf/evaluation.hpp"
#include "embedrank/cf/pearson.hpp"
#include "embedrank/cf/ratings.hpp"
#include "embedrank/cf/user_knn.hpp"

#include "embedrank/rank/embedding_index.hpp"
#include "embedrank/rank/evaluation.hpp"
#include "embedrank/rank/hybrid_search.hpp"
#include "embedrank/rank/lexical_analysis.hpp"
#include "embedrank/rank/lexical_index.hpp"
#include "embedrank/rank/query_attributes.hpp"
#include "embedrank/rank/recommender.hpp"
#include "embedrank/rank/rerank.hpp"
#include "embedrank/rank/topk.hpp"

#include "embedrank/shop/shopping_guide.hpp"
