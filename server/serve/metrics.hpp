#pragma once
// The service's Prometheus metrics (GET /metrics, text format 0.0.4):
//
//   embedrank_requests_total{route, status}           counter
//   embedrank_request_duration_seconds{route}          histogram
//   embedrank_requests_in_flight                       gauge
//   embedrank_requests_rejected_total{reason}          counter (overloaded, draining)
//   embedrank_queue_sequences                          gauge: sequences waiting for the encoder
//   embedrank_batch_sequences / embedrank_batch_tokens histograms of the encoder batches
//   embedrank_embedded_tokens_total                    counter
//
// Routes are labelled by their pattern ("/v1/products/{id}"), never by the
// raw path, so the label set stays bounded.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace serve {

/// A histogram with fixed upper bounds (cumulative counts written at scrape).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

  void observe(double value) {
    std::size_t b = 0;
    while (b < bounds_.size() && value > bounds_[b]) ++b;
    ++counts_[b];
    sum_ += value;
    ++count_;
  }

  void write(std::ostringstream& out, const std::string& name, const std::string& labels) const {
    std::uint64_t cumulative = 0;
    const std::string sep = labels.empty() ? "" : ",";
    for (std::size_t b = 0; b < bounds_.size(); ++b) {
      cumulative += counts_[b];
      out << name << "_bucket{" << labels << sep << "le=\"" << bounds_[b] << "\"} " << cumulative << '\n';
    }
    out << name << "_bucket{" << labels << sep << "le=\"+Inf\"} " << count_ << '\n';
    out << name << "_sum" << (labels.empty() ? "" : "{" + labels + "}") << ' ' << sum_ << '\n';
    out << name << "_count" << (labels.empty() ? "" : "{" + labels + "}") << ' ' << count_ << '\n';
  }

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;
  double sum_ = 0.0;
  std::uint64_t count_ = 0;
};

class Metrics {
 public:
  void count_request(const std::string& route, int status, double seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++requests_[{route, status}];
    latency_.try_emplace(route, latency_bounds()).first->second.observe(seconds);
  }

  void count_rejected(const std::string& reason) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++rejected_[reason];
  }

  void observe_batch(std::size_t sequences, std::size_t tokens) {
    std::lock_guard<std::mutex> lock(mutex_);
    batch_sequences_.observe(static_cast<double>(sequences));
    batch_tokens_.observe(static_cast<double>(tokens));
    embedded_tokens_ += tokens;
  }

  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::int64_t> queue_sequences{0};

  /// The exposition text.
  std::string text() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::ostringstream out;
    out << "# HELP embedrank_requests_total Requests answered, by route and status.\n"
           "# TYPE embedrank_requests_total counter\n";
    for (const auto& [key, n] : requests_)
      out << "embedrank_requests_total{route=\"" << key.first << "\",status=\"" << key.second << "\"} " << n << '\n';
    out << "# HELP embedrank_request_duration_seconds Time from the request read to the response built.\n"
           "# TYPE embedrank_request_duration_seconds histogram\n";
    for (const auto& [route, h] : latency_) h.write(out, "embedrank_request_duration_seconds", "route=\"" + route + "\"");
    out << "# HELP embedrank_requests_in_flight Requests being answered.\n"
           "# TYPE embedrank_requests_in_flight gauge\n"
        << "embedrank_requests_in_flight " << in_flight.load() << '\n';
    out << "# HELP embedrank_requests_rejected_total Requests refused before any work (429 overloaded, 503 draining).\n"
           "# TYPE embedrank_requests_rejected_total counter\n";
    for (const auto& [reason, n] : rejected_) out << "embedrank_requests_rejected_total{reason=\"" << reason << "\"} " << n << '\n';
    out << "# HELP embedrank_queue_sequences Sequences waiting for the encoder.\n"
           "# TYPE embedrank_queue_sequences gauge\n"
        << "embedrank_queue_sequences " << queue_sequences.load() << '\n';
    out << "# HELP embedrank_batch_sequences Sequences per encoder batch.\n"
           "# TYPE embedrank_batch_sequences histogram\n";
    batch_sequences_.write(out, "embedrank_batch_sequences", "");
    out << "# HELP embedrank_batch_tokens Tokens per encoder batch.\n"
           "# TYPE embedrank_batch_tokens histogram\n";
    batch_tokens_.write(out, "embedrank_batch_tokens", "");
    out << "# HELP embedrank_embedded_tokens_total Tokens run through the encoder.\n"
           "# TYPE embedrank_embedded_tokens_total counter\n"
        << "embedrank_embedded_tokens_total " << embedded_tokens_ << '\n';
    return out.str();
  }

 private:
  static std::vector<double> latency_bounds() {
    return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  }

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  std::map<std::string, std::uint64_t> rejected_;
  Histogram batch_sequences_{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512}};
  Histogram batch_tokens_{{16, 64, 256, 1024, 2048, 4096, 8192, 16384, 32768}};
  std::uint64_t embedded_tokens_ = 0;
};

}  // namespace serve
