package backup

import "testing"

// TestLibpqKeepsOnlyWhatPgDumpAccepts: pg_dump refuses a URL with pgx's
// settings or a session parameter such as plan_cache_mode (the way to opt
// out of the server's generic plans); the password moves to PGPASSWORD.
func TestLibpqKeepsOnlyWhatPgDumpAccepts(t *testing.T) {
	dsn, env := libpq("postgres://crm:secret@db:5432/crm?sslmode=disable&plan_cache_mode=auto&pool_max_conns=5&default_query_exec_mode=exec")
	if want := "postgres://crm@db:5432/crm?sslmode=disable"; dsn != want {
		t.Errorf("dsn %q, want %q", dsn, want)
	}
	if len(env) != 1 || env[0] != "PGPASSWORD=secret" {
		t.Errorf("env %q", env)
	}
}
