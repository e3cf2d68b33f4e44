// Learning-rate schedule, computed outside the optimizer once per step (0-based step index):
//   cosine:   linear warmup from lr/warmup to lr over `warmup` steps, then cosine from lr down
//             to min_lr at the last step (GPT-3 / LLaMA style);
//   constant: the same warmup, then lr.
//
// Convention: a run of `steps` updates has total = steps, and update t (from 1) takes at(t - 1)
// (lib/run/train_step.cpp). So the first update gets lr/warmup, the last update gets min_lr
// exactly, and no update follows at min_lr. In a PyTorch-style scheduler written as
// min + (peak - min) (1 + cos(π (s - warmup) / (S - warmup))) / 2, this is S = steps - 1.
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
