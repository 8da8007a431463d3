#include "unmix/eval/scores.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "unmix/error.h"

namespace unmix::eval {

namespace {

const std::vector<double>& metric_values(const BssEvalResult& r, int metric) {
  switch (metric) {
    case 0: return r.sdr;
    case 1: return r.sir;
    case 2: return r.isr;
    default: return r.sar;
  }
}

// museval's TrackStore._q: infinities become NaN, the rest is rounded to 5 decimals.
std::string museval_number(double v) {
  if (!std::isfinite(v)) return "NaN";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.5f", v);
  return buf;
}

std::string shortest(double v) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

std::string quoted(const std::string& s) { return nlohmann::json(s).dump(); }

// RFC 4180: quote a field holding a comma, quote or line break.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string fixed(double v, int decimals) {
  if (std::isnan(v)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

std::string museval_json(const TrackScores& s) {
  const double seconds_hop = static_cast<double>(s.hop) / s.sample_rate;
  const double seconds_window = static_cast<double>(s.window) / s.sample_rate;
  std::string out = "{\n  \"targets\": [";
  for (std::size_t j = 0; j < s.targets.size(); ++j) {
    out += j ? ",\n    {\n" : "\n    {\n";
    out += "      \"name\": " + quoted(s.targets[j]) + ",\n      \"frames\": [";
    for (int t = 0; t < s.result.frames; ++t) {
      out += t ? ",\n        {\n" : "\n        {\n";
      out += "          \"time\": " + shortest(t * seconds_hop) + ",\n";
      out += "          \"duration\": " + shortest(seconds_window) + ",\n";
      out += "          \"metrics\": {\n";
      // museval's key order: SDR, SIR, SAR, ISR.
      const std::pair<const char*, const std::vector<double>*> keys[4] = {
          {"SDR", &s.result.sdr}, {"SIR", &s.result.sir}, {"SAR", &s.result.sar}, {"ISR", &s.result.isr}};
      for (int k = 0; k < 4; ++k)
        out += std::string("            \"") + keys[k].first + "\": " +
               museval_number(s.result.at(*keys[k].second, static_cast<int>(j), t)) + (k < 3 ? ",\n" : "\n");
      out += "          }\n        }";
    }
    out += s.result.frames ? "\n      ]\n    }" : "]\n    }";
  }
  out += "\n  ],\n  \"evaluator\": \"guitar-unmix bss_eval v4 (museval images mode)\"";
  out += ",\n  \"method\": " + quoted(s.method) + ",\n  \"track\": " + quoted(s.track) + "\n}\n";
  return out;
}

void write_text_file(const std::filesystem::path& file, const std::string& text) {
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  AtomicFile atomic(file);
  {
    std::ofstream os(atomic.temp_path(), std::ios::binary);
    os << text;
    os.flush();
    if (!os) fail(file, "cannot write");
  }
  atomic.commit();
}

void write_museval_json(const std::filesystem::path& file, const TrackScores& scores) {
  write_text_file(file, museval_json(scores));
}

std::vector<double> frame_values(const TrackScores& s, int target, int metric) {
  std::vector<double> v;
  const auto& values = metric_values(s.result, metric);
  for (int t = 0; t < s.result.frames; ++t) {
    const double x = s.result.at(values, target, t);
    v.push_back(std::isinf(x) ? NAN : x);
  }
  return v;
}

double nan_median(std::vector<double> values) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double x) { return std::isnan(x); }), values.end());
  if (values.empty()) return NAN;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double nan_mean(const std::vector<double>& values) {
  double sum = 0;
  std::size_t count = 0;
  for (double x : values)
    if (!std::isnan(x)) {
      sum += x;
      ++count;
    }
  return count ? sum / static_cast<double>(count) : NAN;
}

std::vector<SummaryRow> summarize(const std::vector<TrackScores>& all) {
  // (method, target) -> per metric the per-track aggregates
  struct Group {
    std::vector<double> medians[4], means[4];
  };
  std::vector<std::pair<std::string, std::string>> order;
  std::map<std::pair<std::string, std::string>, Group> groups;
  for (const auto& s : all)
    for (std::size_t j = 0; j < s.targets.size(); ++j) {
      const auto key = std::make_pair(s.method, s.targets[j]);
      if (!groups.count(key)) order.push_back(key);
      Group& g = groups[key];
      for (int m = 0; m < 4; ++m) {
        const auto v = frame_values(s, static_cast<int>(j), m);
        g.medians[m].push_back(nan_median(v));
        g.means[m].push_back(nan_mean(v));
      }
    }
  std::vector<SummaryRow> rows;
  for (const auto& key : order) {
    const Group& g = groups[key];
    SummaryRow row;
    row.method = key.first;
    row.target = key.second;
    row.tracks = g.medians[0].size();
    for (int m = 0; m < 4; ++m) {
      row.median[m] = nan_median(g.medians[m]);
      row.mean[m] = nan_mean(g.means[m]);
    }
    rows.push_back(row);
  }
  return rows;
}

std::string summary_text(const std::vector<SummaryRow>& rows) {
  std::size_t wm = 6, wt = 6;
  for (const auto& r : rows) {
    wm = std::max(wm, r.method.size());
    wt = std::max(wt, r.target.size());
  }
  std::string out;
  char line[512];
  for (int block = 0; block < 2; ++block) {
    out += block == 0 ? "Median over frames, median over tracks (dB)\n" : "Mean over frames, mean over tracks (dB)\n";
    std::snprintf(line, sizeof line, "  %-*s  %-*s  %8s %8s %8s %8s  %6s\n", static_cast<int>(wm), "method",
                  static_cast<int>(wt), "target", "SDR", "SIR", "ISR", "SAR", "tracks");
    out += line;
    for (const auto& r : rows) {
      const double* v = block == 0 ? r.median : r.mean;
      std::snprintf(line, sizeof line, "  %-*s  %-*s  %8s %8s %8s %8s  %6zu\n", static_cast<int>(wm), r.method.c_str(),
                    static_cast<int>(wt), r.target.c_str(), fixed(v[0], 2).c_str(), fixed(v[1], 2).c_str(),
                    fixed(v[2], 2).c_str(), fixed(v[3], 2).c_str(), r.tracks);
      out += line;
    }
    if (block == 0) out += "\n";
  }
  return out;
}

std::string summary_csv(const std::vector<SummaryRow>& rows) {
  std::string out = "method,target,metric,median,mean,tracks\n";
  for (const auto& r : rows)
    for (int m = 0; m < 4; ++m)
      out += csv_field(r.method) + "," + csv_field(r.target) + "," + kMetrics[m] + "," + fixed(r.median[m], 5) + "," + fixed(r.mean[m], 5) +
             "," + std::to_string(r.tracks) + "\n";
  return out;
}

std::string summary_json(const std::vector<SummaryRow>& rows) {
  auto number = [](double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); };
  nlohmann::json j = nlohmann::json::array();
  for (const auto& r : rows) {
    nlohmann::json row = {{"method", r.method}, {"target", r.target}, {"tracks", r.tracks}};
    for (int m = 0; m < 4; ++m) {
      row["median"][kMetrics[m]] = number(r.median[m]);
      row["mean"][kMetrics[m]] = number(r.mean[m]);
    }
    j.push_back(row);
  }
  nlohmann::json doc = {{"aggregation", "median (mean) over frames, then median (mean) over tracks; NaN frames left out"},
                        {"rows", j}};
  return doc.dump(2) + "\n";
}

std::string tracks_csv(const std::vector<TrackScores>& all) {
  std::string out = "method,track,target,SDR,SIR,ISR,SAR,frames,nan_frames\n";
  for (const auto& s : all)
    for (std::size_t j = 0; j < s.targets.size(); ++j) {
      out += csv_field(s.method) + "," + csv_field(s.track) + "," + csv_field(s.targets[j]);
      for (int m = 0; m < 4; ++m) out += "," + fixed(nan_median(frame_values(s, static_cast<int>(j), m)), 5);
      const auto sdr = frame_values(s, static_cast<int>(j), 0);
      const auto nan = std::count_if(sdr.begin(), sdr.end(), [](double x) { return std::isnan(x); });
      out += "," + std::to_string(s.result.frames) + "," + std::to_string(nan) + "\n";
    }
  return out;
}

void write_summary_files(const std::filesystem::path& dir, const std::vector<SummaryRow>& rows,
                         const std::vector<TrackScores>& all) {
  write_text_file(dir / "summary.csv", summary_csv(rows));
  write_text_file(dir / "summary.json", summary_json(rows));
  write_text_file(dir / "tracks.csv", tracks_csv(all));
}

}  // namespace unmix::eval
