#pragma once
// PySequenceClassifier: a SequenceClassifier and its workspace, shared by
// Python threads (bind_classifiers.cpp), also the native scorer of
// retrieve_then_rerank (bind_rerank.cpp).

#include <memory>
#include <string>

#include "common.hpp"
#include "embedrank/model/sequence_classifier.hpp"

namespace embedrank_python {

namespace model = embedrank::model;

class PySequenceClassifier {
 public:
  PySequenceClassifier(const std::string& path, int threads) : path_(path), workspace_(threads) {
    py::gil_scoped_release unlocked;
    classifier_ = model::SequenceClassifier::open(path);
  }

  const model::SequenceClassifier& classifier() const { return *classifier_; }
  const std::string& path() const { return path_; }
  int threads() const { return workspace_.threads(); }

  /// Runs `work(workspace)`; the caller has released the GIL (see WorkspaceSlot).
  template <typename Work>
  auto run(Work&& work) {
    return workspace_.run(work);
  }

 private:
  std::string path_;
  std::shared_ptr<const model::SequenceClassifier> classifier_;
  WorkspaceSlot<model::EncoderWorkspace<float>> workspace_;
};

}  // namespace embedrank_python
