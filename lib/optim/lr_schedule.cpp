#include "optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"

namespace wdlab {

double LrSchedule::at(int step) const {
  WD_CHECK(step >= 0, "lr schedule: step must be >= 0, got {}", step);
  WD_CHECK(warmup >= 0, "lr schedule: warmup must be >= 0, got {}", warmup);
  if (step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (kind == ScheduleKind::constant) return peak;
  // Cosine from peak (first step after warmup) to min_lr (step total - 1); min_lr afterwards.
  const double span = static_cast<double>(std::max(1, total - warmup - 1));
  const double progress = std::clamp(static_cast<double>(step - warmup) / span, 0.0, 1.0);
  return min_lr + 0.5 * (1.0 + std::cos(std::numbers::pi * progress)) * (peak - min_lr);
}

}  // namespace wdlab
