#pragma once
// PyEmbedder: a model file's Embedder shared by Python threads
// (bind_embedder.cpp), also embedded with by the ShoppingGuide binding.

#include <memory>
#include <string>

#include "common.hpp"
#include "embedrank/model/embedder.hpp"

namespace embedrank_python {

namespace model = embedrank::model;

class PyEmbedder {
 public:
  PyEmbedder(const std::string& path, int threads) : path_(path), workspace_(threads) {
    py::gil_scoped_release unlocked;
    embedder_ = model::Embedder::open(path);
  }

  const model::Embedder& embedder() const { return *embedder_; }
  /// The model, for objects that embed with it (a ShoppingGuide).
  std::shared_ptr<const model::Embedder> shared() const { return embedder_; }
  const std::string& path() const { return path_; }
  int threads() const { return workspace_.threads(); }

  /// Runs `work(workspace)` with the GIL released (see WorkspaceSlot).
  template <typename Work>
  auto with_workspace(Work work) {
    py::gil_scoped_release unlocked;
    return workspace_.run(work);
  }

 private:
  std::string path_;
  std::shared_ptr<const model::Embedder> embedder_;
  WorkspaceSlot<model::EmbedderWorkspace> workspace_;
};

}  // namespace embedrank_python
