// Learning-rate schedule, computed outside the optimizer once per step (0-based step index):
//   cosine:   linear warmup from lr/warmup to lr over `warmup` steps, then cosine from lr down
//             to min_lr at the last step (GPT-3 / LLaMA style);
//   constant: the same warmup, then lr.
#pragma once

namespace wdlab {

enum class ScheduleKind { cosine, constant };

struct LrSchedule {
  ScheduleKind kind = ScheduleKind::cosine;
  double peak = 1e-3;
  double min_lr = 0.0;
  int warmup = 0;
  int total = 1;

  double at(int step) const;
};

}  // namespace wdlab
