#!/usr/bin/env bash
# Builds, checks, audits and signs an inspay release (clauses 5.4.3.5, 6.3.2, 6.3.3, 5.4.1.2,
# 5.4.3.1, 6.3.4, 6.2.4). The procedure around it (who signs, the second person's approval)
# is in docs/releases.md.
#
#   PUBLISHER_KEY=/secure/publisher-key.pem PUBLISHER_PUB=publisher.pub.pem bash scripts/release.sh
#   bash scripts/release.sh --help
#
# Steps, each of which stops the release if it fails:
#   1. cargo build --release --locked -p inspay
#   2. assemble dist/inspay-<version>/ (bin/inspay, README.md, docs/, deploy/ examples, LICENSE)
#   3. inspay release check     the binary is stripped, no keys, test data or debug endpoints
#   4. inspay release sbom      CycloneDX SBOM into the release directory
#   5. inspay release audit     the SBOM against the offline RustSec advisory-db copy
#   6. inspay release manifest  MANIFEST.json + MANIFEST.sig, signed with PUBLISHER_KEY
#   7. inspay verify-release    the signed release verifies with the publisher's public key
#
# Environment:
#   PUBLISHER_KEY   the publisher's SM2 private key (PKCS#8 PEM; required)
#   PUBLISHER_PUB   the publisher's public key (PEM, from keygen's --public-out) for step 7
#                   (required)
#   PUBLISHER_NAME  recorded in the manifest (default: "inspay release owner")
#   ADVISORY_DB     advisory-db copy (default: ../shared/advisory-db relative to the repository)
#   DIST            output root (default: dist)
set -euo pipefail

usage() {
    sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
    usage
    exit 0
fi
if [ "$#" -gt 0 ]; then
    echo "error: unknown argument $1 (see --help)" >&2
    exit 2
fi

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

: "${PUBLISHER_KEY:?set PUBLISHER_KEY to the publisher private key (inspay release keygen --out ...)}"
: "${PUBLISHER_PUB:?set PUBLISHER_PUB to the publisher public key PEM (keygen --public-out)}"
publisher_name=${PUBLISHER_NAME:-inspay release owner}
advisory_db=${ADVISORY_DB:-$repo_root/../shared/advisory-db}
dist_root=${DIST:-dist}
target_dir=${CARGO_TARGET_DIR:-target}

echo "==> 1/7 build (release profile, locked dependencies)"
cargo build --release --locked -p inspay
binary="$target_dir/release/inspay"
version=$("$binary" version | awk '{print $2}')
commit=$("$binary" version | sed -n 's/.*(commit \(.*\))/\1/p')
case "$commit" in
    *-dirty|unknown) echo "warning: the build commit is '$commit'; release from a clean checkout" >&2 ;;
esac

release_dir="$dist_root/inspay-$version"
echo "==> 2/7 assemble $release_dir"
rm -rf "$release_dir"
mkdir -p "$release_dir/bin" "$release_dir/docs" "$release_dir/deploy"
cp "$binary" "$release_dir/bin/inspay"
cp README.md "$release_dir/"
cp docs/*.md "$release_dir/docs/"
cp deploy/* "$release_dir/deploy/"
for license in LICENSE LICENSE-APACHE LICENSE.txt; do
    if [ -f "$license" ]; then cp "$license" "$release_dir/"; fi
done

echo "==> 3/7 hygiene check of the binary"
"$binary" release check --binary "$release_dir/bin/inspay"

echo "==> 4/7 SBOM"
"$binary" release sbom --out "$release_dir/sbom.cdx.json" --manifest-path Cargo.toml

echo "==> 5/7 offline vulnerability audit against $advisory_db"
if [ -f "$advisory_db/SNAPSHOT.txt" ]; then head -n 1 "$advisory_db/SNAPSHOT.txt"; fi
"$binary" release audit --sbom "$release_dir/sbom.cdx.json" --advisory-db "$advisory_db"

echo "==> 6/7 sign the manifest"
"$binary" release manifest --dir "$release_dir" --key "$PUBLISHER_KEY" \
    --publisher "$publisher_name" --version "$version" --commit "$commit"

echo "==> 7/7 verify the signed release"
"$binary" verify-release --dir "$release_dir" --publisher-key "$PUBLISHER_PUB"

echo
echo "release ready: $release_dir"
echo "  version:   $version (commit $commit)"
echo "  publisher: $publisher_name"
echo "  files:     $(find "$release_dir" -type f | wc -l)"
echo "next: a second person runs verify-release and the audit before publishing (docs/releases.md)"
