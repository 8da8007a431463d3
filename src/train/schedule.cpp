// ReduceLROnPlateau and EarlyStopping, transcribed from torch 1.13 and openunmix 1.3 (see schedule.h).
#include "unmix/train/schedule.h"

#include <algorithm>
#include <cmath>

namespace unmix::train {

double PlateauScheduler::step(double metric, double lr) {
  last_epoch += 1;
  if (metric < best * (1.0 - threshold)) {
    best = metric;
    num_bad_epochs = 0;
  } else {
    num_bad_epochs += 1;  // NaN lands here too: every comparison with it is false
  }
  if (cooldown_counter > 0) {
    cooldown_counter -= 1;
    num_bad_epochs = 0;  // bad epochs during cooldown do not count
  }
  if (num_bad_epochs > patience) {
    const double reduced = std::max(lr * factor, 0.0);
    if (lr - reduced > eps) lr = reduced;
    cooldown_counter = cooldown;
    num_bad_epochs = 0;
  }
  return lr;
}

bool EarlyStopping::step(double metric) {
  if (!has_best) {
    has_best = true;
    best = metric;
    return false;
  }
  if (std::isnan(metric)) return true;
  if (patience == 0 || metric < best - min_delta) {  // patience 0: openunmix counts every epoch as better
    num_bad_epochs = 0;
    best = metric;
  } else {
    num_bad_epochs += 1;
  }
  return num_bad_epochs >= patience;
}

}  // namespace unmix::train
