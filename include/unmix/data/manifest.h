#pragma once
// MedleyDB metadata in, training manifests out.
//
// A MedleyDB-layout root holds one folder per track:
//   <root>/<Track>/<Track>_MIX.wav
//   <root>/<Track>/<Track>_STEMS/<Track>_STEM_NN.wav
//   <root>/<Track>/<Track>_METADATA.yaml      (or all YAMLs together in a separate metadata folder)
// A manifest selects the tracks that contain a target instrument, lists for each the target stems, the
// interferer stems (every other stem), the mix, the bleed flag and the artist group, and assigns every
// track to train/valid/test so that no artist group appears in two splits. Paths in a manifest are relative
// to the audio root. The JSON format and the split rule are documented in docs/data.md.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace unmix::data {

enum class Split { Train, Valid, Test };
std::string_view split_name(Split split);              // "train", "valid", "test"
bool parse_split(std::string_view name, Split& out);   // false for anything else

// ---- metadata (<Track>_METADATA.yaml) ----

struct StemMetadata {
  std::string id;                        // "S01", ...
  std::string filename;                  // the YAML's `filename`, or <Track>_STEM_NN.wav when absent
  std::vector<std::string> instruments;  // `instrument` as a list (MedleyDB allows a string or a list)
  std::string component;                 // "melody", "bass" or ""
  // The generator's `synthesis` block (scalar fields only: role, guitar_kind, guitar_role, ...); empty for
  // MedleyDB and other hand-labelled metadata.
  std::map<std::string, std::string> synthesis;
};

struct TrackMetadata {
  std::string id;  // from the file name: <id>_METADATA.yaml
  std::string artist, title, genre, origin;
  bool has_bleed = false;
  std::string mix_filename;  // `mix_filename`, default <id>_MIX.wav
  std::string stem_dir;      // `stem_dir`, default <id>_STEMS
  std::vector<StemMetadata> stems;  // sorted by stem id
  std::filesystem::path source;     // the YAML it came from
};

// Throws unmix::Error "<file>: <problem>" for unreadable YAML or a missing/ill-typed required field
// (`stems` must be a mapping and every stem needs an `instrument`).
TrackMetadata read_track_metadata(const std::filesystem::path& yaml);
// Every *_METADATA.yaml directly inside `dir`, sorted by track id.
std::vector<TrackMetadata> read_metadata_dir(const std::filesystem::path& dir);
// Every <root>/<Track>/<Track>_METADATA.yaml, sorted by track id.
std::vector<TrackMetadata> scan_root(const std::filesystem::path& root);
// One track id per line; blank lines and lines starting with '#' are skipped.
std::vector<std::string> read_tracklist(const std::filesystem::path& file);
// A JSON object {track id: artist group} (MedleyDB's artist_index.json).
std::map<std::string, std::string> read_artist_index(const std::filesystem::path& file);

// ---- manifests ----

// What happens to tracks whose metadata says has_bleed: 'yes'.
enum class BleedPolicy {
  Keep,       // kept in whichever split their artist group lands in
  TrainOnly,  // groups made only of bleed tracks go to train; bleed tracks of valid/test groups are excluded
  Exclude,    // never used
};
std::string_view bleed_policy_name(BleedPolicy policy);  // "keep", "train-only", "exclude"
bool parse_bleed_policy(std::string_view name, BleedPolicy& out);

struct SplitOptions {
  double valid_fraction = 0.15;
  double test_fraction = 0.15;
  std::uint64_t seed = 42;
  BleedPolicy bleed = BleedPolicy::TrainOnly;
};

struct ManifestStem {
  std::string id;                        // "S03"
  std::string path;                      // relative to the audio root: <Track>/<stem_dir>/<filename>
  std::vector<std::string> instruments;
};

struct ManifestTrack {
  std::string id, artist, group;  // group: the artist group used for the split
  Split split = Split::Train;
  bool bleed = false;
  std::string mix;  // relative to the audio root: <Track>/<mix_filename>
  std::vector<ManifestStem> targets, interferers;
};

struct ExcludedTrack {
  std::string id, group, reason;
};

struct Manifest {
  std::string name;                        // e.g. "acoustic_guitar"
  std::vector<std::string> target_labels;  // a stem is a target when all its labels are in this set
  SplitOptions split;
  std::string source;                      // free text: where the metadata came from
  std::vector<ManifestTrack> tracks;       // sorted by id
  std::vector<ExcludedTrack> excluded;     // tracks with a target stem that were left out, with the reason

  std::size_t count(Split split) const;
  std::vector<const ManifestTrack*> tracks_in(Split split) const;
  const ManifestTrack* find(std::string_view id) const;  // nullptr when absent
};

struct ManifestOptions {
  std::string name;
  std::vector<std::string> target_labels;
  SplitOptions split;
  std::map<std::string, std::string> artist_groups;  // track id -> group; tracks not in it use their `artist`
  std::string source;
};

// Tracks with at least one target stem become manifest tracks; a stem whose labels mix target and
// non-target instruments excludes its track (its target could not be separated from the rest).
// The split is deterministic: artist groups are ordered by a hash of (seed, group) and filled into valid,
// then test, up to their fractions of the eligible tracks, the rest go to train (see docs/data.md).
// Throws unmix::Error when no labels are given, fractions are outside [0, 1) or sum to >= 1.
Manifest build_manifest(const std::vector<TrackMetadata>& tracks, const ManifestOptions& options);

// JSON (docs/data.md). load_manifest rejects malformed files with "<file>: <problem>"; save is atomic.
Manifest load_manifest(const std::filesystem::path& file);
void save_manifest(const Manifest& manifest, const std::filesystem::path& file);
std::string manifest_to_json(const Manifest& manifest);  // the text save_manifest writes
Manifest manifest_from_json(const std::string& text, const std::string& source);

// Consistency problems, one line each (empty when fine): duplicate track ids, an artist group in two
// splits, a track without targets, a stem listed twice.
std::vector<std::string> check_manifest(const Manifest& manifest);

}  // namespace unmix::data
