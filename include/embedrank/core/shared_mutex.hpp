#pragma once
/// SharedMutex: a reader/writer lock whose waiting writer goes first.
///
/// Many readers hold it together; a writer waits for them to leave, and
/// readers that arrive while a writer waits queue behind it, so a steady
/// stream of searches never starves an update (std::shared_mutex on glibc
/// prefers readers). Not recursive: a thread holding it shared must not
/// take it shared again while a writer may be waiting. Works with
/// std::shared_lock and std::unique_lock.

#include <pthread.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "embedrank/core/error.hpp"

namespace embedrank {

class SharedMutex {
 public:
  SharedMutex() {
    pthread_rwlockattr_t attributes;
    pthread_rwlockattr_init(&attributes);
#if defined(__GLIBC__)
    pthread_rwlockattr_setkind_np(&attributes, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    const int error = pthread_rwlock_init(&lock_, &attributes);
    pthread_rwlockattr_destroy(&attributes);
    if (error != 0) throw Error("system.rwlock", std::string("cannot create a reader/writer lock: ") + std::strerror(error));
  }
  ~SharedMutex() { pthread_rwlock_destroy(&lock_); }
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void lock() { check(pthread_rwlock_wrlock(&lock_)); }
  bool try_lock() { return pthread_rwlock_trywrlock(&lock_) == 0; }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  void lock_shared() {
    int error;
    while ((error = pthread_rwlock_rdlock(&lock_)) == EAGAIN) {  // too many readers at once: wait for one to leave
    }
    check(error);
  }
  bool try_lock_shared() { return pthread_rwlock_tryrdlock(&lock_) == 0; }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }

 private:
  static void check(int error) {
    if (error != 0) throw Error("system.rwlock", std::string("reader/writer lock: ") + std::strerror(error));
  }
  pthread_rwlock_t lock_;
};

}  // namespace embedrank
