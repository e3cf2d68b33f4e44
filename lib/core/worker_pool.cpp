#include "core/worker_pool.h"

#include "core/error.h"
#include "core/gemm.h"

namespace wdlab {

WorkerPool::WorkerPool(int workers) : workers_(workers) {
  WD_CHECK(workers >= 1, "worker pool: need at least 1 worker, got {}", workers);
  // The workers are the parallelism: BLAS inside them stays on their thread.
  if (workers > 1) blas_set_threads(1);
  threads_.reserve(static_cast<size_t>(workers - 1));
  for (int w = 1; w < workers; ++w) threads_.emplace_back([this, w] { loop(w); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  start_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void WorkerPool::run_erased(Erased call, void* task) {
  if (workers_ == 1) {
    call(task, 0);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    call_ = call;
    task_ = task;
    mode_ = current_float_mode();
    pending_ = workers_ - 1;
    error_ = nullptr;
    ++generation_;
  }
  start_.notify_all();
  std::exception_ptr mine;
  try {
    call(task, 0);
  } catch (...) {
    mine = std::current_exception();
  }
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return pending_ == 0; });
  call_ = nullptr, task_ = nullptr;
  if (mine) std::rethrow_exception(mine);
  if (error_) std::rethrow_exception(error_);
}

void WorkerPool::loop(int worker) {
  uint64_t seen = 0;
  for (;;) {
    Erased call = nullptr;
    void* task = nullptr;
    FloatMode mode;
    {
      std::unique_lock lock(mutex_);
      start_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      call = call_, task = task_, mode = mode_;
    }
    set_float_mode(mode);
    std::exception_ptr error;
    try {
      call(task, worker);
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard lock(mutex_);
    if (error && !error_) error_ = error;
    if (--pending_ == 0) done_.notify_one();
  }
}

}  // namespace wdlab
