/* SPDX-License-Identifier: ISC */
/*
 * db_schema: the numbered migrations, oldest first. They are append-only: a
 * released migration is never edited, a change is a new one. The SQL keeps to
 * what SQLite and PostgreSQL both accept (INTEGER/BIGINT ids, TEXT, BLOB as
 * bytea in the PostgreSQL backend's copy), so that backend can share it.
 */
#include <stddef.h>

#include "weft-server/db.h"

const struct db_migration db_migrations[] = {
	{ 1, "initial schema",
	  "CREATE TABLE users ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " name TEXT NOT NULL UNIQUE,"
	  " display_name TEXT NOT NULL DEFAULT '',"
	  " email TEXT NOT NULL DEFAULT '',"
	  " created_at BIGINT NOT NULL);"
	  "CREATE TABLE preauth_keys ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " prefix TEXT NOT NULL UNIQUE,"
	  " hash BLOB NOT NULL,"
	  " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	  " reusable INTEGER NOT NULL,"
	  " ephemeral INTEGER NOT NULL,"
	  " used INTEGER NOT NULL DEFAULT 0,"
	  " tags TEXT NOT NULL DEFAULT '[]',"
	  " expiration BIGINT NOT NULL DEFAULT 0,"
	  " created_at BIGINT NOT NULL);"
	  "CREATE TABLE api_keys ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " prefix TEXT NOT NULL UNIQUE,"
	  " hash BLOB NOT NULL,"
	  " expiration BIGINT NOT NULL DEFAULT 0,"
	  " created_at BIGINT NOT NULL,"
	  " last_seen BIGINT NOT NULL DEFAULT 0);"
	  "CREATE TABLE nodes ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " machine_key BLOB NOT NULL UNIQUE,"
	  " node_key BLOB NOT NULL UNIQUE,"
	  " disco_key BLOB NOT NULL,"
	  " hostname TEXT NOT NULL,"
	  " given_name TEXT NOT NULL UNIQUE,"
	  " user_id INTEGER NOT NULL REFERENCES users(id),"
	  " ipv4 TEXT UNIQUE,"
	  " ipv6 TEXT UNIQUE,"
	  " endpoints TEXT NOT NULL DEFAULT '[]',"
	  " relay_home INTEGER NOT NULL DEFAULT 0,"
	  " os TEXT NOT NULL DEFAULT '',"
	  " tags TEXT NOT NULL DEFAULT '[]',"
	  " auth_key_id INTEGER REFERENCES preauth_keys(id) ON DELETE SET NULL,"
	  " register_method TEXT NOT NULL DEFAULT '',"
	  " ephemeral INTEGER NOT NULL DEFAULT 0,"
	  " expiry BIGINT NOT NULL DEFAULT 0,"
	  " last_seen BIGINT NOT NULL DEFAULT 0,"
	  " created_at BIGINT NOT NULL,"
	  " routes_advertised TEXT NOT NULL DEFAULT '[]',"
	  " routes_approved TEXT NOT NULL DEFAULT '[]');"
	  "CREATE INDEX nodes_user ON nodes(user_id);"
	  "CREATE INDEX preauth_keys_user ON preauth_keys(user_id);"
	  "CREATE TABLE policies ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " data TEXT NOT NULL,"
	  " updated_at BIGINT NOT NULL);" },
};

const size_t db_n_migrations = sizeof(db_migrations) / sizeof(db_migrations[0]);
