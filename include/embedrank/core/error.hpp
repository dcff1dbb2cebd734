#pragma once
/// Typed errors. Library code never prints and never exits: every failure is an
/// exception derived from embedrank::Error whose message starts with a stable
/// id, e.g. "[embedrank.format.bad_magic] model.bin: ...", and names the file,
/// tensor, token or id at fault.

#include <stdexcept>
#include <string>
#include <utility>

namespace embedrank {

/// Base of every error the library throws.
class Error : public std::runtime_error {
 public:
  Error(std::string id, const std::string& message)
      : std::runtime_error("[embedrank." + id + "] " + message), id_(std::move(id)) {}

  /// Stable dotted id, e.g. "format.bad_magic"; safe to match on in callers.
  const std::string& id() const noexcept { return id_; }

 private:
  std::string id_;
};

/// A file could not be opened, read, mapped or written.
class FileError : public Error {
 public:
  FileError(const std::string& id, const std::string& message) : Error("file." + id, message) {}
};

/// A weight file (or other binary artefact) is malformed: bad magic, version,
/// offsets, shapes, dtypes, metadata, or missing tensors.
class FormatError : public Error {
 public:
  FormatError(const std::string& id, const std::string& message) : Error("format." + id, message) {}
};

/// A caller passed an invalid argument: a wrong dimension, an out-of-vocabulary
/// token id, an empty sequence, an unknown option.
class InputError : public Error {
 public:
  InputError(const std::string& id, const std::string& message) : Error("input." + id, message) {}
};

/// A text data file (ratings CSV, id list, ...) has a malformed line; the
/// message carries the file name and 1-based line number.
class ParseError : public Error {
 public:
  ParseError(const std::string& id, const std::string& message) : Error("parse." + id, message) {}
};

}  // namespace embedrank
