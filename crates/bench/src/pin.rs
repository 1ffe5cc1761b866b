//! `--pin`: PostgreSQL on the first CPU, this process (Rapport's server
//! and the clients) on the others, for the queries' measurements,
//! Rapport's and the ceiling's alike. On shared cores a ratio is close to
//! the ratio of all parties' CPU per request (the CPU table); with each
//! side on cores of its own, it says whether the server keeps up with its
//! database, the thing the targets are about. PostgreSQL's processes get
//! back the CPUs they had when the guard drops.

use std::fs;

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;

/// Placement in force; dropping it puts PostgreSQL's processes back, as
/// does Ctrl-C (which would otherwise end the process without drops).
pub struct Pinned {
    on_interrupt: tokio::task::JoinHandle<()>,
    /// The CPU PostgreSQL runs on now.
    pub database: usize,
    /// The CPUs PostgreSQL's processes could run on before (all of them
    /// together: backends forked while pinned get these too).
    database_had: CpuSet,
    /// The CPUs this process runs on now, for the report.
    pub own: Vec<usize>,
}

/// Pins every PostgreSQL process to the first CPU this process may use,
/// and every thread of this process to the rest. Backends started later
/// are forked by the postmaster and inherit its CPU.
pub fn pin() -> Result<Pinned, String> {
    let allowed = cpus(&sched_getaffinity(Pid::from_raw(0)).map_err(|e| e.to_string())?);
    let [database_cpu, rest @ ..] = allowed.as_slice() else {
        return Err("no CPU to run on".into());
    };
    if rest.is_empty() {
        return Err("--pin needs two CPUs: one for PostgreSQL, one for Rapport".into());
    }
    let database = postgres_pids();
    if database.is_empty() {
        return Err("--pin found no PostgreSQL process on this machine".into());
    }
    let mut had = Vec::new();
    for pid in &database {
        if let Ok(set) = sched_getaffinity(*pid) {
            had.extend(cpus(&set));
        }
    }
    had.sort_unstable();
    had.dedup();
    let database_had = set_of(&had)?;
    let on_interrupt = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            give_back(&database_had);
            std::process::exit(130);
        }
    });
    let pinned = Pinned {
        on_interrupt,
        database: *database_cpu,
        database_had,
        own: rest.to_vec(),
    };
    let one = set_of(&[*database_cpu])?;
    for pid in database {
        // A backend may end meanwhile; any other failure is a lack of
        // permission, and the measurement would not be what it says.
        match sched_setaffinity(pid, &one) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(e) => {
                return Err(format!(
                    "cannot move PostgreSQL's process {pid} to CPU {database_cpu} ({e}): \
                     run as root or as PostgreSQL's user"
                ));
            }
        }
    }
    let others = set_of(rest)?;
    for task in fs::read_dir("/proc/self/task").map_err(|e| e.to_string())? {
        let tid = task
            .map_err(|e| e.to_string())?
            .file_name()
            .to_string_lossy()
            .parse::<i32>()
            .map_err(|e| e.to_string())?;
        match sched_setaffinity(Pid::from_raw(tid), &others) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(e) => return Err(format!("cannot move thread {tid}: {e}")),
        }
    }
    Ok(pinned)
}

impl Drop for Pinned {
    fn drop(&mut self) {
        self.on_interrupt.abort();
        give_back(&self.database_had);
    }
}

/// Every PostgreSQL process, including backends forked while pinned, may
/// run on `cpus` again.
fn give_back(cpus: &CpuSet) {
    for pid in postgres_pids() {
        if let Err(e) = sched_setaffinity(pid, cpus)
            && e != nix::errno::Errno::ESRCH
        {
            eprintln!("could not give PostgreSQL's process {pid} its CPUs back: {e}");
        }
    }
}

fn cpus(set: &CpuSet) -> Vec<usize> {
    (0..CpuSet::count())
        .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
        .collect()
}

fn set_of(cpus: &[usize]) -> Result<CpuSet, String> {
    let mut set = CpuSet::new();
    for &cpu in cpus {
        set.set(cpu).map_err(|e| e.to_string())?;
    }
    Ok(set)
}

/// Every process named `postgres`: the postmaster, its backends and workers.
fn postgres_pids() -> Vec<Pid> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|proc| {
            let pid = proc.file_name().to_string_lossy().parse::<i32>().ok()?;
            let comm = fs::read_to_string(proc.path().join("comm")).ok()?;
            (comm.trim_end() == "postgres").then(|| Pid::from_raw(pid))
        })
        .collect()
}
