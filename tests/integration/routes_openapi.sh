#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# zerod's router and docs/api/openapi.yaml describe the same API (issue 16, item 6): every route
# of the router (zerod --list-routes: the table built into the binary, method and pattern) is a
# path and method of the document, and every path and method of the document is routed. A
# {name} of the document is the router's {}. Prints both differences and fails on either.
# Debian packages: libyaml-pp-perl (as openapi_lint).
set -euo pipefail

: "${ZEROD:?ZEROD must point at the zerod binary (set by ctest)}"
: "${ZERO_SOURCE_DIR:?ZERO_SOURCE_DIR is not set}"
SPEC=${1:-$ZERO_SOURCE_DIR/docs/api/openapi.yaml}
perl -MYAML::PP -e 1 2>/dev/null || { echo "routes_openapi: perl YAML::PP is missing: apt-get install libyaml-pp-perl" >&2; exit 1; }

routes=$("$ZEROD" --list-routes) || { echo "routes_openapi: zerod --list-routes failed" >&2; exit 1; }
[ "$(wc -l <<<"$routes")" -ge 10 ] || { echo "routes_openapi: zerod lists too few routes: $routes" >&2; exit 1; }

documented=$(perl -MYAML::PP -e '
        my $doc = YAML::PP->new(schema => ["Core"])->load_file($ARGV[0]);
        for my $path (sort keys %{ $doc->{paths} }) {
                (my $pattern = $path) =~ s/\{[^}]+\}/{}/g;
                for my $m (qw(get put post delete patch head options trace)) {
                        print uc($m), " $pattern\n" if $doc->{paths}{$path}{$m};
                }
        }' "$SPEC")

undocumented=$(comm -23 <(sort -u <<<"$routes") <(sort -u <<<"$documented"))
unrouted=$(comm -13 <(sort -u <<<"$routes") <(sort -u <<<"$documented"))
rc=0
if [ -n "$undocumented" ]; then
  echo "routes_openapi: routed by zerod, missing from $SPEC:" >&2
  sed 's/^/  /' <<<"$undocumented" >&2
  rc=1
fi
if [ -n "$unrouted" ]; then
  echo "routes_openapi: in $SPEC, not routed by zerod:" >&2
  sed 's/^/  /' <<<"$unrouted" >&2
  rc=1
fi
[ "$rc" = 0 ] && echo "routes_openapi: the $(wc -l <<<"$routes") routes of zerod and the operations of $SPEC are the same"
exit $rc
