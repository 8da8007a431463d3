#pragma once
// The two per-epoch decisions of openunmix's train.py, with the semantics of the classes it uses:
//   PlateauScheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(mode="min", factor, patience, cooldown,
//                      threshold=1e-4, threshold_mode="rel", min_lr=0, eps=1e-8)
//   EarlyStopping    = openunmix.utils.EarlyStopping(mode="min", min_delta=0, patience)
// Their state is plain data so a checkpoint can carry it.
#include <cstdint>
#include <limits>

namespace unmix::train {

struct PlateauScheduler {
  double factor = 0.3;
  int patience = 80;
  int cooldown = 10;
  double threshold = 1e-4;  // relative: better means metric < best * (1 - threshold)
  double eps = 1e-8;        // a reduction smaller than this is skipped
  // state
  double best = std::numeric_limits<double>::infinity();
  int num_bad_epochs = 0;
  int cooldown_counter = 0;
  std::int64_t last_epoch = 0;

  // One epoch's validation loss; returns the learning rate to use from now on.
  double step(double metric, double lr);
};

struct EarlyStopping {
  int patience = 140;
  double min_delta = 0;
  // state
  bool has_best = false;
  double best = 0;
  int num_bad_epochs = 0;

  // True when training should stop (a NaN metric stops at once, as openunmix's does).
  bool step(double metric);
};

}  // namespace unmix::train
