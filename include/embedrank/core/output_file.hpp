#pragma once
/// An output file that is complete or absent, never half-written.
///
/// The data goes to a new temporary file next to the target (same
/// directory, so the final rename stays on one file system); commit()
/// flushes it and renames it over the target in one step. If commit() is
/// never reached (an exception, an early return) the destructor deletes the
/// temporary and the target keeps its old contents, or stays absent.
///
///   AtomicOutputFile out("vectors.npy");  // fails now if the directory is not writable
///   out.stream() << ...;
///   out.commit();

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "embedrank/core/error.hpp"

namespace embedrank {

class AtomicOutputFile {
 public:
  /// Creates the temporary file now, so an unwritable target is reported
  /// before any work: FileError "open" naming `path`.
  explicit AtomicOutputFile(std::string path) : path_(std::move(path)) {
    static std::atomic<unsigned> counter{0};
    for (int attempt = 0; attempt < 100; ++attempt) {
      temporary_ = path_ + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
      // O_EXCL: never reuse or follow someone else's file; 0666 & ~umask, as
      // the target would get from a plain open
      const int fd = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd >= 0) {
        ::close(fd);
        stream_.open(temporary_, std::ios::binary | std::ios::trunc);
        if (!stream_) break;
        return;
      }
      if (errno != EEXIST) break;
    }
    const std::string reason = std::strerror(errno);
    temporary_.clear();
    throw FileError("open", path_ + ": cannot write here (" + reason + ")");
  }

  AtomicOutputFile(const AtomicOutputFile&) = delete;
  AtomicOutputFile& operator=(const AtomicOutputFile&) = delete;

  ~AtomicOutputFile() {
    if (temporary_.empty()) return;
    stream_.close();
    std::remove(temporary_.c_str());
  }

  /// Where to write the contents.
  std::ofstream& stream() { return stream_; }
  /// The target path.
  const std::string& path() const { return path_; }

  /// Flushes and closes the temporary file and renames it over the target.
  /// Throws FileError "write" (a write failed, e.g. the disk is full) or
  /// "rename"; either way the target is untouched.
  void commit() {
    stream_.flush();
    const bool written = static_cast<bool>(stream_);
    stream_.close();
    if (!written || stream_.fail()) throw FileError("write", path_ + ": write failed");
    if (std::rename(temporary_.c_str(), path_.c_str()) != 0)
      throw FileError("rename", path_ + ": cannot replace the file (" + std::strerror(errno) + ")");
    temporary_.clear();
  }

 private:
  std::string path_;
  std::string temporary_;  // empty once committed (or never created)
  std::ofstream stream_;
};

}  // namespace embedrank
