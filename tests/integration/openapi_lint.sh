#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Lints docs/api/openapi.yaml and docs/api/card.yaml (or the files given):
#   1. strict YAML: duplicate keys are errors (YAML::PP; libyaml would keep the last silently);
#   2. valid against the OpenAPI 3.0 schema (JSON::Validator, whose Debian package brings the
#      schema through openapi-specification, so no network is needed);
#   3. what that schema cannot see: every local $ref resolves, operationIds are unique, every
#      {param} in a path is declared as a path parameter and every declared one is in the path.
# Debian packages: libjson-validator-perl libyaml-pp-perl. A missing validator is a failure, not
# a skip: the API description must not rot unnoticed.
set -euo pipefail

if [[ $# -eq 0 ]]; then
        set -- "${ZERO_SOURCE_DIR:?ZERO_SOURCE_DIR is not set}/docs/api/openapi.yaml" "$ZERO_SOURCE_DIR/docs/api/card.yaml"
fi
for spec in "$@"; do
        if [[ ! -r $spec ]]; then
                echo "openapi_lint: cannot read $spec" >&2
                exit 1
        fi
done
for module in JSON::Validator::Schema::OpenAPIv3 YAML::PP; do
        if ! perl -M"$module" -e 1 2>/dev/null; then
                echo "openapi_lint: perl module $module is missing:" \
                     "apt-get install libjson-validator-perl libyaml-pp-perl" >&2
                exit 1
        fi
done

rc=0
for spec in "$@"; do
perl - "$spec" <<'PERL' || rc=1
use strict;
use warnings;
use JSON::Validator::Schema::OpenAPIv3;
use YAML::PP;

my $file = shift;
my @problems;

my $doc = eval {
        YAML::PP->new(schema => ['Core'], boolean => 'JSON::PP', duplicate_keys => 0)
            ->load_file($file);
};
if (!$doc) {
        print STDERR "$file: not valid YAML: $@";
        exit 1;
}
if (ref $doc ne 'HASH' || ($doc->{openapi} // '') !~ /^3\.0\.\d+$/) {
        print STDERR "$file: not an OpenAPI 3.0 document\n";
        exit 1;
}

# 2. The OpenAPI 3.0 schema (served from JSON::Validator's bundled cache).
# It dies on a $ref it cannot resolve; 3a below then names every such $ref.
my $errors = eval { JSON::Validator::Schema::OpenAPIv3->new($doc)->errors };
if ($errors) {
        push @problems, map { "schema: $_" } @$errors;
} else {
        (my $why = $@ || 'unknown failure') =~ s/\s+\z//;
        push @problems, "schema: validation stopped: $why";
}

# 3a. Local $refs resolve.
sub resolve {
        my ($pointer) = @_;
        my $node = $doc;
        for my $part (split m{/}, substr($pointer, 2)) {
                $part =~ s/~1/\//g;
                $part =~ s/~0/~/g;
                return undef unless ref $node eq 'HASH' && exists $node->{$part};
                $node = $node->{$part};
        }
        return $node;
}
sub walk {
        my ($node, $where) = @_;
        if (ref $node eq 'HASH') {
                if (exists $node->{'$ref'}) {
                        my $ref = $node->{'$ref'};
                        if ($ref !~ m{^#/}) {
                                push @problems, "$where: \$ref $ref is not local";
                        } elsif (!defined resolve($ref)) {
                                push @problems, "$where: \$ref $ref does not resolve";
                        }
                }
                walk($node->{$_}, "$where/$_") for sort keys %$node;
        } elsif (ref $node eq 'ARRAY') {
                walk($node->[$_], "$where/$_") for 0 .. $#$node;
        }
}
walk($doc, '#');

# 3b. Unique operationIds; 3c. path templates and path parameters agree.
sub deref {
        my ($p) = @_;
        return ref $p eq 'HASH' && $p->{'$ref'} ? (resolve($p->{'$ref'}) // {}) : $p;
}
my %seen;
for my $path (sort keys %{ $doc->{paths} || {} }) {
        my $item = $doc->{paths}{$path};
        my %in_template = map { $_ => 1 } ($path =~ /\{([^}]+)\}/g);
        my @common = map { deref($_) } @{ $item->{parameters} || [] };
        for my $method (qw(get put post delete options head patch trace)) {
                my $op = $item->{$method} or next;
                my $where = "$method $path";
                if (my $id = $op->{operationId}) {
                        push @problems, "$where: operationId $id also used by $seen{$id}"
                            if $seen{$id};
                        $seen{$id} = $where;
                } else {
                        push @problems, "$where: no operationId";
                }
                my %declared;
                for my $p (@common, map { deref($_) } @{ $op->{parameters} || [] }) {
                        next unless ($p->{in} // '') eq 'path';
                        $declared{ $p->{name} } = 1;
                        push @problems, "$where: path parameter $p->{name} is not in the path"
                            unless $in_template{ $p->{name} };
                }
                for my $name (sort keys %in_template) {
                        push @problems, "$where: {$name} is not declared as a path parameter"
                            unless $declared{$name};
                }
                push @problems, "$where: no responses" unless %{ $op->{responses} || {} };
        }
}

if (@problems) {
        print STDERR "$file: $_\n" for @problems;
        print STDERR "openapi_lint: ", scalar(@problems), " problem(s)\n";
        exit 1;
}
printf "openapi_lint: %s is valid OpenAPI %s (%d paths, %d operations)\n", $file, $doc->{openapi},
    scalar(keys %{ $doc->{paths} }), scalar(keys %seen);
exit 0;
PERL
done
exit $rc
