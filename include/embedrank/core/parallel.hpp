#pragma once
/// available_cpus() and resolve_threads() live with the one thread pool in
/// core/thread_pool.hpp; this header keeps their old include path working.

#include "embedrank/core/thread_pool.hpp"
