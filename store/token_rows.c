/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API tokens (schema v6): a name, a role and the SHA-256 of the secret. The secret itself is
 * shown once when the token is made and never stored, so the state file grants no access.
 */
#include <errno.h>
#include <stdlib.h>

#include "store/store-internal.h"

static const struct column token_columns[] = {
        TEXT(struct zero_token_row, name),
        TEXT(struct zero_token_row, role),
        TEXT(struct zero_token_row, hash),
        TEXT(struct zero_token_row, created_by),
        INT64(struct zero_token_row, created_at),
};
const struct table store_token_table = TABLE(struct zero_token_row, token_columns);

void zero_token_row_done(struct zero_token_row *r) {
        store_row_done(&store_token_table, r);
}

void zero_token_rows_free(struct zero_token_row *rows, size_t n) {
        store_rows_free(&store_token_table, rows, n);
}

int zero_store_token_insert(struct zero_store *s, const struct zero_token_row *r) {
        assert_return(s && r && r->name && r->role && r->hash, -EINVAL);
        return store_row_write(s,
                               "INSERT INTO tokens (name, role, hash, created_by, created_at) "
                               "VALUES (:name, :role, :hash, :created_by, :created_at)",
                               &store_token_table, r, STORE_FK_MISSING_PARENT, false);
}

int zero_store_token_get_by_hash(struct zero_store *s, const char *hash, struct zero_token_row *ret) {
        assert_return(s && hash && ret, -EINVAL);
        return store_row_get(s, "SELECT * FROM tokens WHERE hash = ?1", hash, &store_token_table, ret);
}

int zero_store_token_list(struct zero_store *s, struct zero_token_row **ret, size_t *ret_n) {
        assert_return(s && ret && ret_n, -EINVAL);
        return store_row_list(s, "SELECT * FROM tokens ORDER BY name", NULL, &store_token_table, (void **) ret, ret_n);
}

int zero_store_token_delete(struct zero_store *s, const char *name) {
        struct zero_token_row row = {.name = (char *) name};

        assert_return(s && name, -EINVAL);
        return store_row_write(s, "DELETE FROM tokens WHERE name = :name", &store_token_table, &row,
                               STORE_FK_HAS_CHILDREN, true);
}
