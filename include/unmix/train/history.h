#pragma once
// What each epoch of a run measured, and the two files made from it after every epoch:
//   history.jsonl  one JSON object per epoch (keys as the EpochRecord fields)
//   loss.svg       training and validation loss curves
// Both are rewritten whole and atomically from the history the checkpoint carries, so after a crash or a
// resume they always agree with the checkpoint.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace unmix::train {

struct EpochRecord {
  std::int64_t epoch = 0;        // 1-based
  double train_loss = 0;         // mean of the epoch's batch losses (openunmix's AverageMeter)
  double valid_loss = 0;         // mean over validation tracks of the whole-track MSE
  double lr = 0;                 // learning rate the epoch trained with
  double seconds = 0;            // wall time of the epoch, training and validation
  double train_seconds = 0;      // of which training steps (including waits for data)
  double valid_seconds = 0;
  double samples_per_second = 0; // training excerpts per second of training time
  double data_wait_share = 0;    // share of training time spent waiting for the loader
  std::int64_t steps = 0;        // optimizer steps so far (whole run)
  bool best = false;             // the validation loss was the best so far (model exported)
};

std::string history_line(const EpochRecord& record);  // one JSON object, no newline
EpochRecord history_from_line(const std::string& line, const std::string& source);
void write_history(const std::filesystem::path& file, const std::vector<EpochRecord>& history);

// An SVG line chart of train_loss and valid_loss against epoch (log-scaled loss axis when the values span
// more than a decade), the best epoch marked. Written by hand: a few dozen lines of SVG text, where every
// plotting library packaged for Debian would be a large dependency for one picture.
std::string loss_curves_svg(const std::vector<EpochRecord>& history, const std::string& title);
void write_loss_curves(const std::filesystem::path& file, const std::vector<EpochRecord>& history,
                       const std::string& title);

}  // namespace unmix::train
