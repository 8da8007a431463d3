// history.jsonl: one JSON object per epoch.
#include "unmix/train/history.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "text_file.h"
#include "unmix/error.h"

namespace unmix::train {

namespace {
using json = nlohmann::ordered_json;

// JSON has no NaN or infinity; a non-finite value is written as null.
json number(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }
double number_from(const json& j, const char* key) {
  const auto& v = j.at(key);
  return v.is_null() ? NAN : v.get<double>();
}
}  // namespace

std::string history_line(const EpochRecord& r) {
  const json j = {{"epoch", r.epoch},
                  {"train_loss", number(r.train_loss)},
                  {"valid_loss", number(r.valid_loss)},
                  {"lr", r.lr},
                  {"seconds", r.seconds},
                  {"train_seconds", r.train_seconds},
                  {"valid_seconds", r.valid_seconds},
                  {"samples_per_second", r.samples_per_second},
                  {"data_wait_share", r.data_wait_share},
                  {"steps", r.steps},
                  {"best", r.best}};
  return j.dump();
}

EpochRecord history_from_line(const std::string& line, const std::string& source) {
  try {
    const json j = json::parse(line);
    EpochRecord r;
    r.epoch = j.at("epoch").get<std::int64_t>();
    r.train_loss = number_from(j, "train_loss");
    r.valid_loss = number_from(j, "valid_loss");
    r.lr = j.at("lr").get<double>();
    r.seconds = j.at("seconds").get<double>();
    r.train_seconds = j.at("train_seconds").get<double>();
    r.valid_seconds = j.at("valid_seconds").get<double>();
    r.samples_per_second = j.at("samples_per_second").get<double>();
    r.data_wait_share = j.at("data_wait_share").get<double>();
    r.steps = j.at("steps").get<std::int64_t>();
    r.best = j.at("best").get<bool>();
    return r;
  } catch (const json::exception& e) {
    fail(source, std::string("bad history record: ") + e.what());
  }
}

void write_history(const std::filesystem::path& file, const std::vector<EpochRecord>& history) {
  std::string text;
  for (const auto& r : history) text += history_line(r) + "\n";
  write_text_atomically(file, text);
}

}  // namespace unmix::train
