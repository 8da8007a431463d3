// MedleyDB metadata: <Track>_METADATA.yaml files, tracklists and the artist index.
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <yaml-cpp/yaml.h>

#include "unmix/data/manifest.h"
#include "unmix/error.h"

namespace unmix::data {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMetadataSuffix = "_METADATA.yaml";

// Strict UTF-8 (no overlong forms, no surrogates), as JSON writers require.
bool is_utf8(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c < 0x80) extra = 0;
    else if (c >= 0xC2 && c <= 0xDF) extra = 1;
    else if (c >= 0xE0 && c <= 0xEF) extra = 2, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) extra = 3, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else return false;
    if (i + extra >= s.size() && extra > 0) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (b < lo || b > hi) : (b >> 6) != 0x2) return false;
    }
    i += 1 + extra;
  }
  return true;
}

// MedleyDB-style metadata found in the wild is often Latin-1 ("Mot\xF6rhead"); every byte of such text
// is the code point of the same value. Manifests are JSON, which must be UTF-8.
std::string utf8_text(const std::string& s) {
  if (is_utf8(s)) return s;
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

// Text fields (artist, title, labels) are decoded as Latin-1 when they are not UTF-8.
std::string scalar_or(const YAML::Node& node, const std::string& fallback) {
  if (!node || node.IsNull()) return fallback;
  if (!node.IsScalar()) return fallback;
  return utf8_text(node.as<std::string>());
}

// Names of files and folders must match the bytes on disk, so they are not re-encoded: refused instead.
std::string file_name_field(const fs::path& yaml, const YAML::Node& node, const std::string& fallback,
                            const std::string& field) {
  if (!node || node.IsNull() || !node.IsScalar()) return fallback;
  std::string name = node.as<std::string>();
  if (!is_utf8(name))
    fail(yaml, "field '" + field + "' is not UTF-8 text ('" + utf8_text(name) +
                   "' if read as Latin-1); rename the file and the field to UTF-8");
  return name;
}

// The kind of a path without throwing: a symbolic-link loop or an unreadable folder is an error naming it.
fs::file_status status_of(const fs::path& p) {
  std::error_code ec;
  const fs::file_status st = fs::status(p, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) fail(p, "cannot read: " + ec.message());
  return st;
}

// MedleyDB writes yes/no flags as quoted strings; accept YAML booleans as well.
bool yes_no(const YAML::Node& node) {
  if (!node || node.IsNull() || !node.IsScalar()) return false;
  std::string v = node.as<std::string>();
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return v == "yes" || v == "true" || v == "y";
}

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

std::string track_id_of(const fs::path& yaml) {
  const std::string name = yaml.filename().string();
  if (name.size() <= kMetadataSuffix.size() || !name.ends_with(kMetadataSuffix)) return {};
  return name.substr(0, name.size() - kMetadataSuffix.size());
}

std::vector<TrackMetadata> sorted(std::vector<TrackMetadata> tracks) {
  std::sort(tracks.begin(), tracks.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  for (std::size_t i = 1; i < tracks.size(); ++i)
    if (tracks[i].id == tracks[i - 1].id)
      fail(tracks[i].source, "track id " + tracks[i].id + " also comes from " + tracks[i - 1].source.string());
  return tracks;
}

}  // namespace

TrackMetadata read_track_metadata(const fs::path& yaml) {
  TrackMetadata t;
  t.source = yaml;
  t.id = track_id_of(yaml);
  if (t.id.empty()) fail(yaml, "metadata file name must be <TrackId>_METADATA.yaml");
  if (!is_utf8(t.id)) fail(yaml, "the track id in the file name is not UTF-8; rename the file");
  YAML::Node root;
  try {
    const fs::file_status st = status_of(yaml);
    if (!fs::exists(st)) fail(yaml, "no such file");
    if (!fs::is_regular_file(st)) fail(yaml, "not a regular file");
    root = YAML::LoadFile(yaml.string());
  } catch (const YAML::Exception& e) {
    fail(yaml, std::string("not valid YAML: ") + e.what());
  }
  if (!root.IsMap()) fail(yaml, "top level is not a mapping");
  try {
    t.artist = trim(scalar_or(root["artist"], ""));
    t.title = trim(scalar_or(root["title"], ""));
    t.genre = trim(scalar_or(root["genre"], ""));
    t.origin = trim(scalar_or(root["origin"], ""));
    t.has_bleed = yes_no(root["has_bleed"]);
    t.mix_filename = trim(file_name_field(yaml, root["mix_filename"], t.id + "_MIX.wav", "mix_filename"));
    t.stem_dir = trim(file_name_field(yaml, root["stem_dir"], t.id + "_STEMS", "stem_dir"));
    const YAML::Node stems = root["stems"];
    if (!stems || !stems.IsMap()) fail(yaml, "`stems` is missing or not a mapping");
    for (const auto& entry : stems) {
      StemMetadata s;
      s.id = entry.first.as<std::string>();
      if (!is_utf8(s.id)) fail(yaml, "stem id '" + utf8_text(s.id) + "' is not UTF-8 text");
      const YAML::Node& record = entry.second;
      if (!record.IsMap()) fail(yaml, "stem " + s.id + " is not a mapping");
      const YAML::Node instrument = record["instrument"];
      if (instrument && instrument.IsScalar()) {
        s.instruments.push_back(trim(utf8_text(instrument.as<std::string>())));
      } else if (instrument && instrument.IsSequence()) {
        for (const auto& label : instrument) {
          if (!label.IsScalar()) fail(yaml, "stem " + s.id + " has a non-text instrument label");
          s.instruments.push_back(trim(utf8_text(label.as<std::string>())));
        }
      }
      std::erase_if(s.instruments, [](const std::string& l) { return l.empty(); });
      if (s.instruments.empty()) fail(yaml, "stem " + s.id + " has no instrument");
      s.component = trim(scalar_or(record["component"], ""));
      if (const YAML::Node synthesis = record["synthesis"]; synthesis && synthesis.IsMap())
        for (const auto& field : synthesis)
          if (field.second.IsScalar()) s.synthesis[field.first.as<std::string>()] = trim(field.second.as<std::string>());
      // Stem S07 is <Track>_STEM_07.wav unless the record names its file.
      std::string number = s.id.size() > 1 && (s.id[0] == 'S' || s.id[0] == 's') ? s.id.substr(1) : s.id;
      if (number.size() < 2) number.insert(0, 2 - number.size(), '0');
      s.filename = trim(file_name_field(yaml, record["filename"], t.id + "_STEM_" + number + ".wav",
                                        "stems." + s.id + ".filename"));
      if (s.filename.find('/') != std::string::npos || s.filename == ".." || s.filename.empty())
        fail(yaml, "stem " + s.id + " has an invalid filename '" + s.filename + "'");
      t.stems.push_back(std::move(s));
    }
  } catch (const YAML::Exception& e) {
    fail(yaml, std::string("unexpected field type: ") + e.what());
  }
  for (const auto* name : {&t.mix_filename, &t.stem_dir})
    if (name->find('/') != std::string::npos || *name == "..")
      fail(yaml, "'" + *name + "' must be a plain name inside the track folder");
  std::sort(t.stems.begin(), t.stems.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return t;
}

std::vector<TrackMetadata> read_metadata_dir(const fs::path& dir) {
  if (!fs::is_directory(status_of(dir))) fail(dir, "not a directory");
  std::vector<TrackMetadata> tracks;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (!track_id_of(it->path()).empty()) tracks.push_back(read_track_metadata(it->path()));
  if (ec) fail(dir, "cannot list the folder: " + ec.message());
  return sorted(std::move(tracks));
}

std::vector<TrackMetadata> scan_root(const fs::path& root) {
  if (!fs::is_directory(status_of(root))) fail(root, "not a directory");
  std::vector<TrackMetadata> tracks;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (!fs::is_directory(status_of(it->path()))) continue;
    const fs::path yaml = it->path() / (it->path().filename().string() + std::string(kMetadataSuffix));
    if (fs::exists(status_of(yaml))) tracks.push_back(read_track_metadata(yaml));
  }
  if (ec) fail(root, "cannot list the folder: " + ec.message());
  return sorted(std::move(tracks));
}

std::vector<std::string> read_tracklist(const fs::path& file) {
  std::ifstream in(file);
  if (!in) fail(file, "cannot open tracklist");
  std::vector<std::string> ids;
  for (std::string line; std::getline(in, line);) {
    line = trim(line);
    if (!line.empty() && line[0] != '#') ids.push_back(line);
  }
  return ids;
}

std::map<std::string, std::string> read_artist_index(const fs::path& file) {
  std::ifstream in(file);
  if (!in) fail(file, "cannot open artist index");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    fail(file, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) fail(file, "artist index must be a JSON object {track id: artist group}");
  std::map<std::string, std::string> groups;
  for (const auto& [id, group] : j.items()) {
    if (!group.is_string()) fail(file, "group of track " + id + " is not a string");
    groups[id] = group.get<std::string>();
  }
  return groups;
}

}  // namespace unmix::data
