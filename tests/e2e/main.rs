//! End-to-end tests: a real server on a loopback port, called over HTTP as a
//! frontend app would. The database is SQLite unless
//! `RAPPORT_TEST_DATABASE_URL` names a PostgreSQL server, in which case each
//! test gets its own fresh database there.

mod harness;

mod accounts;
mod cli;
mod computed;
mod concurrency;
mod custom_object;
mod direct_reads;
mod docs;
mod edge;
mod encryption;
mod errors;
mod files;
mod history;
mod hostile;
mod metadata;
mod modules;
mod multi_process;
mod nested;
mod permission_matrix;
mod permissions;
mod relations;
mod replica;
mod reused_statements;
mod sales_team;
mod sharing;
mod tenants;
mod transfer;
mod upgrade;
