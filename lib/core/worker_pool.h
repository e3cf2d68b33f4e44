// A fixed set of threads that run one task per worker and wait for all of them: the engine's
// only thread pool. The model splits a batch into one shard per worker (data parallelism), so a
// step has a handful of parallel regions, each long enough that a condition-variable wake-up is
// cheap next to it. BLAS runs single-threaded inside the workers: one pool, never two fighting
// over the same cores (a pool of more than one worker sets OpenBLAS to one thread for the process).
//
//   WorkerPool pool(2);                              // the caller plus one background thread
//   pool.run([&](int worker) { work_on(shard[worker]); });   // worker 0 runs on the caller
//
// run() returns when every worker has finished; the first exception thrown by a task is
// rethrown on the caller (the others still run to completion, so no task outlives the call).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "core/subnormals.h"

namespace wdlab {

// Part k of n items cut into `parts` contiguous pieces in order, sizes differing by at most one:
// how the workers split an arena (gradients, optimizer state) between them.
struct IndexRange {
  size_t begin = 0, end = 0;
  size_t size() const { return end - begin; }
};
inline IndexRange part_of(size_t n, size_t k, size_t parts) {
  return {n * k / parts, n * (k + 1) / parts};
}

class WorkerPool {
 public:
  explicit WorkerPool(int workers);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int size() const { return workers_; }
  // task(w) for every w in [0, size()), w == 0 on the calling thread, every worker in the
  // caller's float mode (core/subnormals.h). Not reentrant. The task is
  // passed by reference, never copied: a run allocates nothing.
  template <typename Task>
  void run(Task&& task) {
    using T = std::remove_reference_t<Task>;
    run_erased([](void* t, int w) { (*static_cast<T*>(t))(w); },
               const_cast<void*>(static_cast<const void*>(&task)));
  }

 private:
  using Erased = void (*)(void* task, int worker);
  void run_erased(Erased call, void* task);
  void loop(int worker);

  int workers_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable start_, done_;
  Erased call_ = nullptr;
  void* task_ = nullptr;
  FloatMode mode_;           // the caller's, for this generation
  uint64_t generation_ = 0;  // bumped per run(); a worker runs each generation once
  int pending_ = 0;          // background workers still busy with this generation
  bool stopping_ = false;
  std::exception_ptr error_;
};

}  // namespace wdlab
