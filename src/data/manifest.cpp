// Manifest construction: target/interferer stems per track and the deterministic artist-disjoint split.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "unmix/data/manifest.h"
#include "unmix/error.h"

namespace unmix::data {

std::string_view split_name(Split split) {
  switch (split) {
    case Split::Train: return "train";
    case Split::Valid: return "valid";
    case Split::Test: return "test";
  }
  return "?";
}

bool parse_split(std::string_view name, Split& out) {
  for (Split s : {Split::Train, Split::Valid, Split::Test})
    if (split_name(s) == name) {
      out = s;
      return true;
    }
  return false;
}

std::string_view bleed_policy_name(BleedPolicy policy) {
  switch (policy) {
    case BleedPolicy::Keep: return "keep";
    case BleedPolicy::TrainOnly: return "train-only";
    case BleedPolicy::Exclude: return "exclude";
  }
  return "?";
}

bool parse_bleed_policy(std::string_view name, BleedPolicy& out) {
  for (BleedPolicy p : {BleedPolicy::Keep, BleedPolicy::TrainOnly, BleedPolicy::Exclude})
    if (bleed_policy_name(p) == name) {
      out = p;
      return true;
    }
  return false;
}

std::size_t Manifest::count(Split s) const {
  return static_cast<std::size_t>(std::count_if(tracks.begin(), tracks.end(), [&](const auto& t) { return t.split == s; }));
}

std::vector<const ManifestTrack*> Manifest::tracks_in(Split s) const {
  std::vector<const ManifestTrack*> out;
  for (const auto& t : tracks)
    if (t.split == s) out.push_back(&t);
  return out;
}

const ManifestTrack* Manifest::find(std::string_view id) const {
  for (const auto& t : tracks)
    if (t.id == id) return &t;
  return nullptr;
}

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The group's place in the split order depends only on its name and the seed, so adding or removing other
// groups does not move it (FNV-1a of the name, mixed with the seed by splitmix64).
std::uint64_t group_rank(const std::string& group, std::uint64_t seed) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : group) h = (h ^ c) * 0x100000001b3ull;
  return splitmix64(h ^ splitmix64(seed));
}

struct Candidate {
  ManifestTrack track;
  bool keep_in_evaluation = true;  // false: a bleed track under train-only
};

}  // namespace

Manifest build_manifest(const std::vector<TrackMetadata>& metadata, const ManifestOptions& options) {
  if (options.target_labels.empty()) fail("manifest", "no target instrument labels given");
  const SplitOptions& so = options.split;
  if (!(so.valid_fraction >= 0 && so.valid_fraction < 1 && so.test_fraction >= 0 && so.test_fraction < 1 &&
        so.valid_fraction + so.test_fraction < 1))
    fail("manifest", "valid and test fractions must lie in [0, 1) and sum to less than 1");

  Manifest m;
  m.name = options.name;
  m.target_labels = options.target_labels;
  std::sort(m.target_labels.begin(), m.target_labels.end());
  m.target_labels.erase(std::unique(m.target_labels.begin(), m.target_labels.end()), m.target_labels.end());
  m.split = so;
  m.source = options.source;
  const std::set<std::string> labels(m.target_labels.begin(), m.target_labels.end());

  // ---- which tracks, and which of their stems are targets ----
  std::map<std::string, std::vector<Candidate>> groups;
  for (const auto& t : metadata) {
    ManifestTrack mt;
    mt.id = t.id;
    mt.artist = t.artist;
    const auto g = options.artist_groups.find(t.id);
    mt.group = g != options.artist_groups.end() ? g->second : (t.artist.empty() ? t.id : t.artist);
    mt.bleed = t.has_bleed;
    mt.mix = t.id + "/" + t.mix_filename;
    std::string mixed_stem;
    for (const auto& s : t.stems) {
      const auto in_set = static_cast<std::size_t>(
          std::count_if(s.instruments.begin(), s.instruments.end(), [&](const auto& l) { return labels.count(l) > 0; }));
      ManifestStem ms{s.id, t.id + "/" + t.stem_dir + "/" + s.filename, s.instruments};
      if (in_set == s.instruments.size())
        mt.targets.push_back(std::move(ms));
      else {
        if (in_set > 0 && mixed_stem.empty()) mixed_stem = s.id;
        mt.interferers.push_back(std::move(ms));
      }
    }
    if (mt.targets.empty() && mixed_stem.empty()) continue;  // no target instrument: not this manifest's track
    if (!mixed_stem.empty()) {
      m.excluded.push_back({mt.id, mt.group, "stem " + mixed_stem + " mixes target and other instruments"});
      continue;
    }
    if (mt.bleed && so.bleed == BleedPolicy::Exclude) {
      m.excluded.push_back({mt.id, mt.group, "has bleed (bleed policy: exclude)"});
      continue;
    }
    Candidate c{std::move(mt), true};
    c.keep_in_evaluation = !(c.track.bleed && so.bleed == BleedPolicy::TrainOnly);
    groups[c.track.group].push_back(std::move(c));
  }

  // ---- artist-disjoint split ----
  std::size_t eligible = 0;
  std::vector<std::pair<std::uint64_t, std::string>> order;
  for (const auto& [group, members] : groups) {
    eligible += members.size();
    const bool any_clean = std::any_of(members.begin(), members.end(), [](const auto& c) { return c.keep_in_evaluation; });
    if (any_clean) order.emplace_back(group_rank(group, so.seed), group);
  }
  std::sort(order.begin(), order.end());
  auto quota = [&](double fraction) -> std::size_t {
    if (fraction <= 0) return 0;
    return std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(fraction * static_cast<double>(eligible))));
  };
  const std::size_t valid_quota = quota(so.valid_fraction), test_quota = quota(so.test_fraction);
  std::size_t valid_count = 0, test_count = 0;
  std::map<std::string, Split> group_split;
  for (const auto& [rank, group] : order) {
    const auto& members = groups[group];
    const auto size = static_cast<std::size_t>(
        std::count_if(members.begin(), members.end(), [](const auto& c) { return c.keep_in_evaluation; }));
    if (valid_count + size <= valid_quota) {
      group_split[group] = Split::Valid;
      valid_count += size;
    } else if (test_count + size <= test_quota) {
      group_split[group] = Split::Test;
      test_count += size;
    }
  }
  for (auto& [group, members] : groups) {
    const auto it = group_split.find(group);
    const Split split = it == group_split.end() ? Split::Train : it->second;
    for (auto& c : members) {
      if (split != Split::Train && !c.keep_in_evaluation) {
        m.excluded.push_back({c.track.id, group,
                              "has bleed and its artist group is in the " + std::string(split_name(split)) +
                                  " split (bleed policy: train-only)"});
        continue;
      }
      c.track.split = split;
      m.tracks.push_back(std::move(c.track));
    }
  }
  std::sort(m.tracks.begin(), m.tracks.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  std::sort(m.excluded.begin(), m.excluded.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return m;
}

std::vector<std::string> check_manifest(const Manifest& m) {
  std::vector<std::string> problems;
  std::map<std::string, Split> group_split;
  std::set<std::string> ids;
  for (const auto& t : m.tracks) {
    if (!ids.insert(t.id).second) problems.push_back("track " + t.id + " is listed twice");
    if (t.targets.empty()) problems.push_back("track " + t.id + " has no target stem");
    const auto [it, inserted] = group_split.emplace(t.group, t.split);
    if (!inserted && it->second != t.split)
      problems.push_back("artist group '" + t.group + "' is in both " + std::string(split_name(it->second)) + " and " +
                         std::string(split_name(t.split)) + " (track " + t.id + ")");
    std::set<std::string> stems;
    for (const auto* list : {&t.targets, &t.interferers})
      for (const auto& s : *list)
        if (!stems.insert(s.id).second || !stems.insert("path:" + s.path).second)
          problems.push_back("track " + t.id + " lists stem " + s.id + " twice");
  }
  for (const auto& e : m.excluded)
    if (ids.count(e.id)) problems.push_back("track " + e.id + " is both listed and excluded");
  return problems;
}

}  // namespace unmix::data
