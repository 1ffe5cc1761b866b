//! The one shape of the server's in-process caches: a map shared by
//! requests, bounded (when full, stale entries go, then the older half, so
//! no caller can grow it without end and filling it never resets the
//! budgets it counts for everyone) and, given a time to live, forgetting
//! entries older than that.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::time::{Duration, Instant};

pub(crate) struct Cache<K, V> {
    entries: RwLock<HashMap<K, (V, Instant)>>,
    ttl: Option<Duration>,
    capacity: usize,
}

impl<K: Hash + Eq, V: Clone> Cache<K, V> {
    /// Entries kept until removed or the cache fills.
    pub(crate) fn new(capacity: usize) -> Self {
        Cache {
            entries: RwLock::new(HashMap::new()),
            ttl: None,
            capacity,
        }
    }

    /// Entries kept at most `ttl`.
    pub(crate) fn expiring(capacity: usize, ttl: Duration) -> Self {
        Cache {
            ttl: Some(ttl),
            ..Cache::new(capacity)
        }
    }

    fn fresh(&self, at: Instant) -> bool {
        self.ttl.is_none_or(|ttl| at.elapsed() < ttl)
    }

    pub(crate) fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get_dated(key).map(|(value, _)| value)
    }

    /// The value and when its entry was made.
    pub(crate) fn get_dated<Q>(&self, key: &Q) -> Option<(V, Instant)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let (value, at) = entries.get(key)?;
        self.fresh(*at).then(|| (value.clone(), *at))
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub(crate) fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    pub(crate) fn insert(&self, key: K, value: V) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if !entries.contains_key(&key) {
            self.make_room(&mut entries);
        }
        entries.insert(key, (value, Instant::now()));
    }

    /// Changes an entry in place (made from `V::default()` if absent or
    /// stale), keeping when it was first made; returns what `change` does.
    pub(crate) fn update<R>(&self, key: K, change: impl FnOnce(&mut V, Instant) -> R) -> R
    where
        V: Default,
    {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if !entries.contains_key(&key) {
            self.make_room(&mut entries);
        }
        let now = Instant::now();
        let slot = entries.entry(key).or_insert((V::default(), now));
        if !self.fresh(slot.1) {
            *slot = (V::default(), now);
        }
        change(&mut slot.0, slot.1)
    }

    pub(crate) fn remove<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    pub(crate) fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|k, (v, _)| keep(k, v));
    }

    fn make_room(&self, entries: &mut HashMap<K, (V, Instant)>) {
        if entries.len() < self.capacity {
            return;
        }
        entries.retain(|_, (_, at)| self.fresh(*at));
        if entries.len() < self.capacity {
            return;
        }
        // Full of live entries: the older half goes. Emptying it all would
        // let whoever fills it (with fresh emails or addresses) reset every
        // rate window and login pause.
        let mut made: Vec<Instant> = entries.values().map(|(_, at)| *at).collect();
        let middle = (made.len() - 1) / 2;
        let cutoff = *made.select_nth_unstable(middle).1;
        entries.retain(|_, (_, at)| *at > cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_a_full_cache_makes_room() {
        let c: Cache<String, u32> = Cache::expiring(2, Duration::from_millis(30));
        c.insert("a".into(), 1);
        assert_eq!(c.get("a"), Some(1));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get("a"), None, "expired");
        c.insert("b".into(), 2);
        c.insert("c".into(), 3);
        assert_eq!(
            (c.get("b"), c.get("c")),
            (Some(2), Some(3)),
            "the stale one made room"
        );
        c.insert("d".into(), 4);
        assert_eq!(
            (c.get("b"), c.get("c"), c.get("d")),
            (None, Some(3), Some(4)),
            "full of live entries: the older half went"
        );
    }

    #[test]
    fn filling_a_cache_keeps_the_newer_half_of_its_counts() {
        let c: Cache<String, u32> = Cache::expiring(4, Duration::from_secs(60));
        for key in ["a", "b", "c", "d"] {
            c.update(key.to_string(), |n, _| *n += 3);
            std::thread::sleep(Duration::from_millis(2));
        }
        c.update("e".to_string(), |n, _| *n += 1);
        assert_eq!(
            ["a", "b", "c", "d", "e"].map(|k| c.get(k)),
            [None, None, Some(3), Some(3), Some(1)]
        );
        // Writing a key already held makes no room.
        c.insert("d".into(), 9);
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn update_counts_within_a_window() {
        let c: Cache<&str, u32> = Cache::expiring(10, Duration::from_millis(30));
        assert_eq!(
            c.update("k", |n, _| {
                *n += 1;
                *n
            }),
            1
        );
        assert_eq!(
            c.update("k", |n, _| {
                *n += 1;
                *n
            }),
            2
        );
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(
            c.update("k", |n, _| {
                *n += 1;
                *n
            }),
            1,
            "a new window"
        );
    }
}
