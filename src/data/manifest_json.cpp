// Manifests as JSON (format documented in docs/data.md).
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "unmix/data/manifest.h"
#include "unmix/error.h"

namespace unmix::data {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kFormat = "unmix-manifest";
constexpr int kVersion = 1;

// Reads fields with one-line errors that say which track and field is wrong.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}
  [[noreturn]] void bad(const std::string& what) const { fail(source_, what); }

  const json& field(const json& object, const char* name, const std::string& where) const {
    if (!object.is_object()) bad(where + " is not an object");
    const auto it = object.find(name);
    if (it == object.end()) bad(where + " has no '" + name + "'");
    return *it;
  }
  std::string text(const json& object, const char* name, const std::string& where) const {
    const json& v = field(object, name, where);
    if (!v.is_string()) bad(where + "." + name + " is not a string");
    return v.get<std::string>();
  }
  std::vector<std::string> texts(const json& object, const char* name, const std::string& where) const {
    const json& v = field(object, name, where);
    if (!v.is_array()) bad(where + "." + name + " is not an array");
    std::vector<std::string> out;
    for (const auto& e : v) {
      if (!e.is_string()) bad(where + "." + name + " holds a non-string");
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  double number(const json& object, const char* name, const std::string& where) const {
    const json& v = field(object, name, where);
    if (!v.is_number()) bad(where + "." + name + " is not a number");
    return v.get<double>();
  }
  bool flag(const json& object, const char* name, const std::string& where) const {
    const json& v = field(object, name, where);
    if (!v.is_boolean()) bad(where + "." + name + " is not true/false");
    return v.get<bool>();
  }
  std::vector<ManifestStem> stems(const json& object, const char* name, const std::string& where) const {
    const json& v = field(object, name, where);
    if (!v.is_array()) bad(where + "." + name + " is not an array");
    std::vector<ManifestStem> out;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string at = where + "." + name + "[" + std::to_string(i) + "]";
      ManifestStem s{text(v[i], "id", at), text(v[i], "path", at), texts(v[i], "instruments", at)};
      if (s.path.empty() || s.path.front() == '/' || s.path.find("..") != std::string::npos)
        bad(at + ".path must be a relative path inside the root");
      out.push_back(std::move(s));
    }
    return out;
  }

 private:
  std::string source_;
};

}  // namespace

std::string manifest_to_json(const Manifest& m) {
  // Insertion-ordered JSON, indented, with one line per stem and per excluded track: a diff of two
  // manifests then reads track by track.
  using ordered = nlohmann::ordered_json;
  auto stem_line = [](const ManifestStem& s) {
    return ordered{{"id", s.id}, {"path", s.path}, {"instruments", s.instruments}}.dump();
  };
  const ordered header = {{"format", kFormat},
                          {"version", kVersion},
                          {"name", m.name},
                          {"target_labels", m.target_labels},
                          {"source", m.source},
                          {"split",
                           {{"rule", "artist-disjoint"},
                            {"seed", m.split.seed},
                            {"valid_fraction", m.split.valid_fraction},
                            {"test_fraction", m.split.test_fraction},
                            {"bleed", bleed_policy_name(m.split.bleed)}}},
                          {"counts",
                           {{"train", m.count(Split::Train)},
                            {"valid", m.count(Split::Valid)},
                            {"test", m.count(Split::Test)},
                            {"excluded", m.excluded.size()}}}};
  std::string out = header.dump(2);
  out.pop_back();  // reopen the object: drop the closing brace
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  out += ",\n  \"tracks\": [";
  for (std::size_t i = 0; i < m.tracks.size(); ++i) {
    const auto& t = m.tracks[i];
    out += i ? ",\n    {" : "\n    {";
    const ordered fields = {{"id", t.id},   {"artist", t.artist}, {"group", t.group},
                            {"split", split_name(t.split)}, {"bleed", t.bleed}, {"mix", t.mix}};
    for (const auto& [key, value] : fields.items()) out += "\"" + key + "\": " + value.dump() + ", ";
    out.pop_back();  // the space after the last field's comma
    for (const auto& [key, stems] : {std::pair{"targets", &t.targets}, std::pair{"interferers", &t.interferers}}) {
      out += std::string("\n      \"") + key + "\": [";
      for (std::size_t k = 0; k < stems->size(); ++k) out += (k ? ",\n        " : "\n        ") + stem_line((*stems)[k]);
      out += stems->empty() ? "]" : "\n      ]";
      if (std::string_view(key) == "targets") out += ",";
    }
    out += "\n    }";
  }
  out += m.tracks.empty() ? "],\n  \"excluded\": [" : "\n  ],\n  \"excluded\": [";
  for (std::size_t i = 0; i < m.excluded.size(); ++i) {
    const auto& e = m.excluded[i];
    out += (i ? ",\n    " : "\n    ") + ordered{{"id", e.id}, {"group", e.group}, {"reason", e.reason}}.dump();
  }
  out += m.excluded.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

Manifest manifest_from_json(const std::string& text, const std::string& source) {
  const Reader r(source);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    r.bad(std::string("not valid JSON: ") + e.what());
  }
  // Read "format" as JSON, not as a string: a number or null there is "not a manifest", not a type error.
  if (!j.is_object() || j.value("format", json()) != kFormat) r.bad(std::string("not a manifest (format is not '") + kFormat + "')");
  if (r.number(j, "version", "manifest") != kVersion) r.bad("unsupported manifest version");
  Manifest m;
  m.name = r.text(j, "name", "manifest");
  m.target_labels = r.texts(j, "target_labels", "manifest");
  m.source = r.text(j, "source", "manifest");
  const json& split = r.field(j, "split", "manifest");
  const json& seed = r.field(split, "seed", "split");
  if (!seed.is_number_unsigned()) r.bad("split.seed is not a non-negative integer");
  m.split.seed = seed.get<std::uint64_t>();
  m.split.valid_fraction = r.number(split, "valid_fraction", "split");
  m.split.test_fraction = r.number(split, "test_fraction", "split");
  if (!parse_bleed_policy(r.text(split, "bleed", "split"), m.split.bleed)) r.bad("split.bleed is not keep/train-only/exclude");

  const json& tracks = r.field(j, "tracks", "manifest");
  if (!tracks.is_array()) r.bad("tracks is not an array");
  for (std::size_t i = 0; i < tracks.size(); ++i) {
    const std::string at = "tracks[" + std::to_string(i) + "]";
    ManifestTrack t;
    t.id = r.text(tracks[i], "id", at);
    const std::string where = at + " (" + t.id + ")";
    t.artist = r.text(tracks[i], "artist", where);
    t.group = r.text(tracks[i], "group", where);
    if (!parse_split(r.text(tracks[i], "split", where), t.split)) r.bad(where + ".split is not train/valid/test");
    t.bleed = r.flag(tracks[i], "bleed", where);
    t.mix = r.text(tracks[i], "mix", where);
    t.targets = r.stems(tracks[i], "targets", where);
    t.interferers = r.stems(tracks[i], "interferers", where);
    m.tracks.push_back(std::move(t));
  }
  const json& excluded = r.field(j, "excluded", "manifest");
  if (!excluded.is_array()) r.bad("excluded is not an array");
  for (std::size_t i = 0; i < excluded.size(); ++i) {
    const std::string at = "excluded[" + std::to_string(i) + "]";
    m.excluded.push_back({r.text(excluded[i], "id", at), r.text(excluded[i], "group", at), r.text(excluded[i], "reason", at)});
  }
  // The counts are derived; a mismatch means the file was edited by hand inconsistently.
  const json& counts = r.field(j, "counts", "manifest");
  for (Split s : {Split::Train, Split::Valid, Split::Test}) {
    const std::string name(split_name(s));
    if (r.number(counts, name.c_str(), "counts") != static_cast<double>(m.count(s)))
      r.bad("counts." + name + " does not match the tracks listed");
  }
  if (r.number(counts, "excluded", "counts") != static_cast<double>(m.excluded.size()))
    r.bad("counts.excluded does not match the excluded list");
  const auto problems = check_manifest(m);
  if (!problems.empty()) r.bad(problems.front());
  return m;
}

Manifest load_manifest(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file, "cannot open manifest");
  std::ostringstream text;
  text << in.rdbuf();
  return manifest_from_json(text.str(), file.string());
}

void save_manifest(const Manifest& m, const fs::path& file) {
  const std::string text = manifest_to_json(m);
  AtomicFile out(file);
  {
    std::ofstream f(out.temp_path(), std::ios::binary);
    f << text;
    if (!f.flush()) fail(file, "cannot write manifest");
  }
  out.commit();
}

}  // namespace unmix::data
