// make_manifests: MedleyDB-style metadata -> a training manifest (JSON) with an artist-disjoint split.
//   make_manifests --metadata ../shared/medleydb/metadata --tracklist v1.txt --tracklist v2.txt
//       --artist-index artist_index.json --target "acoustic guitar" --name acoustic_guitar --out m.json
//   make_manifests --root corpus/ --target "clean electric guitar" --out m.json
//   make_manifests --root corpus/ --guitar-role lead --out lead_guitar.json   (generated corpora: one part)
// Prints the track count per split. Format and split rule: docs/data.md.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <set>

#include "unmix/data/guitar_parts.h"
#include "unmix/data/manifest.h"
#include "unmix/error.h"
#include "unmix/limits.h"

using namespace unmix;
using namespace unmix::data;

int main(int argc, char** argv) {
  unmix::exit_cleanly_on_terminate("error");
  CLI::App app{"Build a training manifest from MedleyDB-style metadata"};
  std::string metadata_dir, root, artist_index, out, name, source, bleed = "train-only";
  std::vector<std::string> tracklists, targets;
  SplitOptions split;
  auto* meta_opt = app.add_option("--metadata", metadata_dir, "folder of <Track>_METADATA.yaml files");
  auto* root_opt = app.add_option("--root", root, "MedleyDB-layout root: reads <root>/<Track>/<Track>_METADATA.yaml");
  meta_opt->excludes(root_opt);
  app.add_option("--tracklist", tracklists, "only tracks listed in these files (one id a line; repeatable)");
  app.add_option("--artist-index", artist_index, "JSON {track id: artist group}; default: each YAML's artist");
  GuitarPart part;
  auto* target_opt = app.add_option("--target", targets,
                                    "target instrument label (repeatable); a stem is a target when all its labels are targets");
  auto* role_opt = app.add_option("--guitar-role", part.role,
                                  "generated corpora: the guitar stems playing this part (lead or rhythm) are the "
                                  "target, every other guitar an interferer (from the metadata's synthesis block)");
  auto* kind_opt = app.add_option("--guitar-kind", part.kind,
                                  "generated corpora: only guitars of this kind (acoustic, electric, clean or "
                                  "distorted) are the target; with --guitar-role, both must hold");
  role_opt->excludes(target_opt);
  kind_opt->excludes(target_opt);
  app.add_option("--name", name, "manifest name (default: the first label, spaces as underscores)");
  app.add_option("--source", source, "text recorded as the manifest's source");
  app.add_option("--valid", split.valid_fraction, "fraction of tracks for validation")->capture_default_str();
  app.add_option("--test", split.test_fraction, "fraction of tracks for test")->capture_default_str();
  app.add_option("--seed", split.seed, "split seed")->capture_default_str();
  app.add_option("--bleed", bleed, "tracks with bleed: keep | train-only | exclude")->capture_default_str();
  app.add_option("--out", out, "manifest file to write")->required();
  CLI11_PARSE(app, argc, argv);

  try {
    if (metadata_dir.empty() && root.empty()) fail("make_manifests", "give --metadata DIR or --root DIR");
    if (!parse_bleed_policy(bleed, split.bleed)) fail("--bleed", "must be keep, train-only or exclude, not '" + bleed + "'");
    std::vector<TrackMetadata> tracks = metadata_dir.empty() ? scan_root(root) : read_metadata_dir(metadata_dir);
    const std::size_t found = tracks.size();
    if (!part.role.empty() || !part.kind.empty()) {
      // The part's stems get one label of their own, which becomes the only target.
      const std::size_t stems = label_guitar_part(tracks, part);
      targets = {guitar_part_label(part)};
      if (stems == 0)
        std::fprintf(stderr, "note: no stem plays %s (parts are read from generated corpora's synthesis blocks)\n",
                     targets[0].c_str());
    }
    if (targets.empty()) fail("make_manifests", "give --target LABEL, or --guitar-role / --guitar-kind");
    if (!tracklists.empty()) {
      std::set<std::string> wanted;
      for (const auto& file : tracklists)
        for (auto& id : read_tracklist(file)) wanted.insert(std::move(id));
      std::set<std::string> have;
      for (const auto& t : tracks) have.insert(t.id);
      for (const auto& id : wanted)
        if (!have.count(id)) fail(id, "listed in a tracklist but has no metadata file");
      std::erase_if(tracks, [&](const TrackMetadata& t) { return !wanted.count(t.id); });
    }
    ManifestOptions options;
    options.target_labels = targets;
    options.split = split;
    options.name = name;
    if (options.name.empty()) {
      options.name = targets.front();
      for (auto& c : options.name)
        if (c == ' ') c = '_';
    }
    if (!artist_index.empty()) options.artist_groups = read_artist_index(artist_index);
    options.source = source;
    // A label no stem carries is usually a typo; say so, but it is not an error.
    std::set<std::string> labels;
    for (const auto& t : tracks)
      for (const auto& s : t.stems) labels.insert(s.instruments.begin(), s.instruments.end());
    const bool by_part = !part.role.empty() || !part.kind.empty();  // already noted above
    for (const auto& label : targets)
      if (!by_part && !labels.count(label)) std::fprintf(stderr, "note: no stem is labelled '%s'\n", label.c_str());

    const Manifest manifest = build_manifest(tracks, options);
    if (manifest.tracks.empty()) fail(out, "no track has a stem labelled with the target labels; nothing written");
    save_manifest(manifest, out);
    std::printf("%s: %zu tracks (of %zu metadata files, %zu selected): train %zu, valid %zu, test %zu; excluded %zu\n",
                out.c_str(), manifest.tracks.size(), found, tracks.size(), manifest.count(Split::Train),
                manifest.count(Split::Valid), manifest.count(Split::Test), manifest.excluded.size());
    for (const auto& e : manifest.excluded) std::printf("  excluded %s: %s\n", e.id.c_str(), e.reason.c_str());
  } catch (...) {  // unmix::Error ("<file>: <problem>"), a filesystem error, out of memory
    return unmix::report_exception("error");
  }
  return 0;
}
