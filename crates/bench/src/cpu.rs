//! CPU time by party during a measurement: the database, Rapport's server
//! and the benchmark's clients share this machine's cores, so a ratio to
//! the ceiling mixes what each of them costs. Read from Linux's `/proc`
//! (`None` elsewhere): the clients run on threads of their own
//! ([`CLIENT_THREAD`]), SQLite runs on sqlx's worker threads, PostgreSQL in
//! its own processes, and the server is the rest of this process.

use std::fs;
use std::ops::Sub;

/// Name of the clients' runtime threads.
pub const CLIENT_THREAD: &str = "bench-client";
/// sqlx-sqlite runs each connection's SQLite calls on a thread of this name
/// (`sqlx-sqlite-worker-N`, cut to the kernel's 15 characters).
const SQLITE_THREAD: &str = "sqlx-sqlite-wor";
/// `/proc` counts CPU time in USER_HZ ticks, 100 per second on Linux
/// whatever the kernel's own tick rate.
const TICKS_PER_SECOND: f64 = 100.0;

/// Seconds of CPU used so far, by party, and the database's page faults.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub database: f64,
    pub server: f64,
    pub client: f64,
    /// Minor page faults of the database's processes (or SQLite's
    /// threads): a PostgreSQL backend whose C library gives its heap back
    /// after every statement faults the pages in again on the next one
    /// (docs/performance.md, "Decisions that hold").
    pub database_faults: f64,
}

impl Sub for Usage {
    type Output = Usage;
    fn sub(self, before: Usage) -> Usage {
        Usage {
            database: self.database - before.database,
            server: self.server - before.server,
            client: self.client - before.client,
            database_faults: self.database_faults - before.database_faults,
        }
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.database += other.database;
        self.server += other.server;
        self.client += other.client;
        self.database_faults += other.database_faults;
    }
}

/// CPU used so far by this process's threads (clients, SQLite, the rest)
/// and by every PostgreSQL process on the machine.
pub fn now() -> Option<Usage> {
    let process = ticks(&fs::read_to_string("/proc/self/stat").ok()?)?.own;
    let (mut client, mut sqlite, mut faults) = (0u64, 0u64, 0u64);
    for task in fs::read_dir("/proc/self/task").ok()?.flatten() {
        let Ok(stat) = fs::read_to_string(task.path().join("stat")) else {
            continue; // the thread ended meanwhile
        };
        let Some(task) = ticks(&stat) else {
            continue;
        };
        if task.comm.starts_with(CLIENT_THREAD) {
            client += task.own;
        } else if task.comm.starts_with(SQLITE_THREAD) {
            sqlite += task.own;
            faults += task.faults;
        }
    }
    let mut postgres = 0u64;
    for proc in fs::read_dir("/proc").ok()?.flatten() {
        let name = proc.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        // With the ended children each has waited for: backends that
        // closed and autovacuum workers, reaped by the postmaster.
        if let Ok(stat) = fs::read_to_string(proc.path().join("stat"))
            && let Some(ticks) = ticks(&stat)
            && ticks.comm == "postgres"
        {
            postgres += ticks.own + ticks.children;
            faults += ticks.faults;
        }
    }
    let seconds = |ticks: u64| ticks as f64 / TICKS_PER_SECOND;
    // The process total keeps the time of threads that have ended (the
    // blocking pool's), which belongs to the server.
    Some(Usage {
        database: seconds(postgres + sqlite),
        server: seconds(process.saturating_sub(client + sqlite)),
        client: seconds(client),
        database_faults: faults as f64,
    })
}

/// What a `stat` line says of a process's CPU.
#[derive(Debug, PartialEq)]
struct Ticks<'s> {
    comm: &'s str,
    /// User and system time.
    own: u64,
    /// User and system time of its ended children it has waited for.
    children: u64,
    /// Minor page faults, its own and its waited-for children's.
    faults: u64,
}

/// `pid (comm) state ppid … utime stime cutime cstime …`, where `comm` may
/// hold spaces and parentheses, so the fields are counted from the last `)`.
fn ticks(stat: &str) -> Option<Ticks<'_>> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    let mut fields = stat.get(close + 1..)?.split_whitespace();
    // After `)`: state is the 3rd field of the line, minflt the 10th,
    // utime the 14th.
    let mut next = |skip: usize| fields.nth(skip)?.parse::<u64>().ok();
    let (minflt, cminflt) = (next(7)?, next(0)?);
    let (utime, stime, cutime, cstime) = (next(2)?, next(0)?, next(0)?, next(0)?);
    Some(Ticks {
        comm,
        own: utime + stime,
        children: cutime + cstime,
        faults: minflt + cminflt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_read_after_the_command_name() {
        let line = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 11 0 0 37 5 3 4 20 0 1 0 9 0 0";
        let read = Ticks {
            comm: "a (b) c",
            own: 42,
            children: 7,
            faults: 111,
        };
        assert_eq!(ticks(line), Some(read));
        assert_eq!(ticks("4242 (cut"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_counted() {
        let before = now().expect("/proc is readable");
        let mut x = 0u64;
        let started = std::time::Instant::now();
        while started.elapsed().as_millis() < 50 {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let used = now().expect("/proc is readable") - before;
        assert!(used.server > 0.0, "{used:?}");
        assert!(used.client == 0.0, "{used:?}");
    }
}
