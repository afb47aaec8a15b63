#!/bin/bash
# One shard of the mutation campaign (see MUTANTS.md):
#
#   scripts/mutants.sh SHARD [SHARDS] [cargo-mutants options...]     e.g. scripts/mutants.sh 0 30
#
# Mutants of the files .cargo/mutants.toml names, shard SHARD of SHARDS (default 30) round-robin, one at a
# time, each tested with the fast tier (scripts/test-fast.sh). The mutants are applied in a copy of this
# tree ($MUTANTS_DIR, default /tmp/kdump-flat-mutants: synced from here, its target/ kept between runs so
# each mutant rebuilds incrementally), so the tree you edit is never touched. Results:
# mutants-out/shard-SHARD-of-SHARDS/mutants.out/{caught,missed,timeout,unviable}.txt.
set -eu
cd "$(dirname "$0")/.."
shard=${1:?usage: scripts/mutants.sh SHARD [SHARDS] [cargo-mutants options...]}
shards=${2:-30}
shift $(($# >= 2 ? 2 : 1))
command -v rsync >/dev/null || { echo "scripts/mutants.sh: needs rsync (apt-get install -y rsync)" >&2; exit 2; }
command -v cargo-mutants >/dev/null || { echo "scripts/mutants.sh: needs cargo-mutants (cargo install cargo-mutants --locked)" >&2; exit 2; }
work=${MUTANTS_DIR:-/tmp/kdump-flat-mutants}
out=$PWD/mutants-out/shard-$shard-of-$shards
mkdir -p "$work" "$out"
# The first sync copies target/ (its dependencies are already built); later ones leave it alone.
if [ -d "$work/target" ]; then
    rsync -a --delete --exclude /target --exclude /.git --exclude /mutants-out ./ "$work/"
else
    rsync -a --exclude /.git --exclude /mutants-out ./ "$work/"
fi
cd "$work"
exec cargo mutants --in-place --shard "$shard/$shards" --sharding round-robin \
    --baseline skip --timeout 150 --build-timeout 600 --output "$out" "$@"
