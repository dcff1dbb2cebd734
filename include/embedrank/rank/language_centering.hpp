#pragma once
/// Per-language centering of a multilingual model's embeddings, so that
/// search matches meaning across languages rather than language.
///
/// Multilingual encoders put a language's texts in a region of their own:
/// each language's embeddings share a mean offset (Libovický et al., "On the
/// Language Neutrality of Pre-trained Multilingual Representations", 2020).
/// With multilingual-e5-small a Chinese query then ranks every Chinese
/// product above the English one it asks for. Subtracting from each vector
/// the mean of its language's vectors removes that offset:
///
///   v' = v - mean[script(text)]        (then normalised for cosine)
///
/// The language of a text is its script (script_of, rank/lexical_analysis.hpp):
/// CJK, or "other" (the Latin, Cyrillic... languages, which share a mean). The means are fitted on the
/// catalogue's product vectors and applied to products and queries alike;
/// a script with fewer than kMinTexts products uses the mean of all.

#include <cmath>
#include <cstddef>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/core/tensor.hpp"
#include "embedrank/rank/lexical_analysis.hpp"

namespace embedrank::rank {

class LanguageCentering {
 public:
  static constexpr std::size_t kMinTexts = 5;  ///< fewer texts of a script: it gets the mean of all

  /// No centering: apply() leaves vectors as they are.
  LanguageCentering() = default;

  /// The means of `vectors` (N, D) by the script of `texts` (N).
  static LanguageCentering fit(const std::vector<std::string>& texts, const MatrixF& vectors) {
    if (static_cast<Eigen::Index>(texts.size()) != vectors.rows())
      throw InputError("bad_shape", std::to_string(texts.size()) + " texts for " + std::to_string(vectors.rows()) +
                                        " vectors");
    LanguageCentering out;
    out.means_ = MatrixF::Zero(kScripts, vectors.cols());
    std::vector<std::size_t> count(kScripts, 0);
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const Script s = script_of(texts[i]);
      out.means_.row(s) += vectors.row(static_cast<Eigen::Index>(i));
      ++count[s];
    }
    const VectorF all = vectors.rows() > 0 ? VectorF(vectors.colwise().mean().transpose()) : VectorF::Zero(vectors.cols());
    for (std::size_t s = 0; s < kScripts; ++s) {
      if (count[s] >= kMinTexts) out.means_.row(static_cast<Eigen::Index>(s)) /= static_cast<float>(count[s]);
      else out.means_.row(static_cast<Eigen::Index>(s)) = all.transpose();
    }
    return out;
  }

  bool empty() const { return means_.size() == 0; }
  /// (kScripts, D) the mean per script, in Script order; empty: none.
  const MatrixF& means() const { return means_; }

  /// Subtracts the mean of `text`'s script from `vector` (D); nothing when empty().
  void apply(std::string_view text, float* vector, std::size_t dim) const {
    if (empty()) return;
    if (static_cast<Eigen::Index>(dim) != means_.cols())
      throw InputError("dimension_mismatch", "a vector of dimension " + std::to_string(dim) +
                                                 " for centering means of dimension " + std::to_string(means_.cols()));
    const Eigen::Index s = script_of(text);
    for (std::size_t j = 0; j < dim; ++j) vector[j] -= means_(s, static_cast<Eigen::Index>(j));
  }
  /// apply() to each row of `vectors` (N, D) with the text of the same position.
  void apply_rows(const std::vector<std::string>& texts, MatrixF& vectors) const {
    if (empty()) return;
    if (vectors.cols() != means_.cols())
      throw InputError("dimension_mismatch", "vectors of dimension " + std::to_string(vectors.cols()) +
                                                 " for centering means of dimension " + std::to_string(means_.cols()));
    for (Eigen::Index i = 0; i < vectors.rows(); ++i)
      vectors.row(i) -= means_.row(script_of(texts[static_cast<std::size_t>(i)]));
  }

  /// The means as kScripts x D little-endian float32 values, no header.
  void write(std::ostream& out) const {
    for (Eigen::Index s = 0; s < means_.rows(); ++s)
      for (Eigen::Index j = 0; j < means_.cols(); ++j) {
        const float v = means_(s, j);
        out.write(reinterpret_cast<const char*>(&v), sizeof v);
      }
  }
  /// Reads what write() wrote for dimension `dim`; throws FormatError
  /// "shop.bad_state" naming `source` when it is not kScripts x dim values.
  static LanguageCentering read(std::istream& in, std::size_t dim, const std::string& source) {
    LanguageCentering out;
    out.means_ = MatrixF(kScripts, static_cast<Eigen::Index>(dim));
    for (Eigen::Index s = 0; s < out.means_.rows(); ++s)
      for (Eigen::Index j = 0; j < out.means_.cols(); ++j) {
        float v = 0.0f;
        if (!in.read(reinterpret_cast<char*>(&v), sizeof v) || !std::isfinite(v))
          throw FormatError("shop.bad_state", source + ": not " + std::to_string(kScripts) + " x " +
                                                  std::to_string(dim) + " finite float32 centering means");
        out.means_(s, j) = v;
      }
    if (in.peek() != std::char_traits<char>::eof())
      throw FormatError("shop.bad_state", source + ": bytes past the " + std::to_string(kScripts) + " x " +
                                              std::to_string(dim) + " centering means");
    return out;
  }

 private:
  MatrixF means_;  // (kScripts, D)
};

}  // namespace embedrank::rank
