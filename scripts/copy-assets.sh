#!/usr/bin/env bash
# Copy NHS.UK frontend's built CSS, JavaScript and assets from node_modules
# into static/vendor/nhsuk/ (git-ignored; rebuilt by `make setup`):
#
#   static/vendor/nhsuk/nhsuk-frontend.min.css
#   static/vendor/nhsuk/nhsuk-frontend.min.js
#   static/vendor/nhsuk/assets/...            (images/favicon.ico, manifest.json, ...)
#
# The published stylesheet refers to its icons as url(/assets/images/...),
# which only works when the assets are served from the site root. They are
# rewritten to url(assets/images/...), relative to the stylesheet, so they
# resolve under /static/vendor/nhsuk/. The @font-face rules that load the
# Frutiger web font from an external host are dropped: the portal makes no
# third-party requests and the font stack falls back to Arial/sans-serif.
# Source map comments are removed (the rewritten CSS no longer matches them).
set -euo pipefail

cd "$(dirname "$0")/.."

pkg_dir=node_modules/nhsuk-frontend
dist="$pkg_dir/dist/nhsuk"
dest=static/vendor/nhsuk

if [ ! -f "$pkg_dir/package.json" ]; then
    echo "copy-assets: $pkg_dir is missing; run 'npm ci' first" >&2
    exit 1
fi

version="$(node -p "require('./$pkg_dir/package.json').version")"
css="$dist/nhsuk-frontend-$version.min.css"
js="$dist/nhsuk-frontend-$version.min.js"
for f in "$css" "$js" "$dist/assets/images/favicon.ico"; do
    if [ ! -f "$f" ]; then
        echo "copy-assets: expected $f in nhsuk-frontend $version" >&2
        exit 1
    fi
done

# Build into a scratch folder beside the destination, then swap it in, so an
# interrupted run never leaves a half-copied tree behind.
mkdir -p "$(dirname "$dest")"
tmp="$(mktemp -d "$dest.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"

cp -R "$dist/assets" "$tmp/assets"
sed -E \
    -e 's#@font-face\{[^}]*url\((["'\'']?)https?://[^}]*\}##g' \
    -e 's#url\((["'\'']?)/assets/#url(\1assets/#g' \
    -e '/^\/\*# sourceMappingURL=.*\*\/$/d' \
    "$css" > "$tmp/nhsuk-frontend.min.css"
sed -e '/^\/\/# sourceMappingURL=/d' "$js" > "$tmp/nhsuk-frontend.min.js"
printf '%s\n' "$version" > "$tmp/VERSION"

# Every url(...) left in the stylesheet must be a data: URI or a file that
# exists relative to the stylesheet.
status=0
while IFS= read -r ref; do
    ref="${ref#url(}"
    ref="${ref%)}"
    ref="${ref#[\"\']}"
    ref="${ref%[\"\']}"
    case "$ref" in
        data:*) ;;
        *://* | /*)
            echo "copy-assets: stylesheet still refers to $ref" >&2
            status=1
            ;;
        *)
            path="${ref%%[?#]*}"
            if [ ! -e "$tmp/$path" ]; then
                echo "copy-assets: stylesheet refers to missing file $ref" >&2
                status=1
            fi
            ;;
    esac
done < <(grep -oE 'url\([^)]*\)' "$tmp/nhsuk-frontend.min.css" | sort -u)
[ "$status" -eq 0 ] || exit 1

rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
