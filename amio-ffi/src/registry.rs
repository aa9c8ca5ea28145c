//! Handles: every object a C host holds is an entry in one registry, and
//! its handle is the entry's id, never reused. A handle is never
//! dereferenced, so an unknown, freed or wrong-kind handle is a status,
//! not undefined behaviour.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use amio_core::Clip;

use crate::playspec::PlayspecObject;
use crate::status::{Failure, AMIO_ERROR_INVALID_HANDLE};
use crate::stream::StreamObject;

pub(crate) enum Object {
    Clip(Clip),
    Playspec(PlayspecObject),
    Stream(Arc<StreamObject>),
}

impl Object {
    fn kind(&self) -> &'static str {
        match self {
            Object::Clip(_) => "a clip",
            Object::Playspec(_) => "a playspec",
            Object::Stream(_) => "a stream",
        }
    }
}

struct Registry {
    next: u64,
    objects: BTreeMap<u64, Object>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next: 1,
    objects: BTreeMap::new(),
});

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Registers an object and returns its handle.
pub(crate) fn insert<T>(object: Object) -> *mut T {
    let mut r = registry();
    let id = r.next;
    r.next += 1;
    r.objects.insert(id, object);
    id as usize as *mut T
}

fn id_of<T>(handle: *const T) -> u64 {
    handle as usize as u64
}

fn missing(handle: u64, argument: &str, wanted: &str, found: Option<&Object>) -> Failure {
    let what = match found {
        Some(o) => format!("{argument} ({handle:#x}) is {}, not {wanted}", o.kind()),
        None if handle == 0 => format!("{argument} is NULL"),
        None => {
            format!("{argument} ({handle:#x}) is not a live handle (never made, or already freed)")
        }
    };
    let status = if handle == 0 {
        crate::status::AMIO_ERROR_NULL_POINTER
    } else {
        AMIO_ERROR_INVALID_HANDLE
    };
    Failure::new(status, what)
}

/// The clip behind a handle.
pub(crate) fn clip<T>(handle: *const T, argument: &str) -> Result<Clip, Failure> {
    let id = id_of(handle);
    let r = registry();
    match r.objects.get(&id) {
        Some(Object::Clip(c)) => Ok(c.clone()),
        other => Err(missing(id, argument, "a clip", other)),
    }
}

/// Runs `f` on the playspec behind a handle.
pub(crate) fn with_playspec<T, R>(
    handle: *const T,
    argument: &str,
    f: impl FnOnce(&mut PlayspecObject) -> Result<R, Failure>,
) -> Result<R, Failure> {
    let id = id_of(handle);
    let mut r = registry();
    match r.objects.get_mut(&id) {
        Some(Object::Playspec(p)) => f(p),
        other => {
            let other = other.map(|o| &*o);
            Err(missing(id, argument, "a playspec", other))
        }
    }
}

/// The stream behind a handle.
pub(crate) fn stream<T>(handle: *const T, argument: &str) -> Result<Arc<StreamObject>, Failure> {
    let id = id_of(handle);
    let r = registry();
    match r.objects.get(&id) {
        Some(Object::Stream(s)) => Ok(Arc::clone(s)),
        other => Err(missing(id, argument, "a stream", other)),
    }
}

/// Removes the object behind a handle of the given kind. NULL is fine
/// (nothing happens); anything else unknown is an error.
pub(crate) fn remove<T>(
    handle: *const T,
    argument: &str,
    wanted: &str,
    is_kind: fn(&Object) -> bool,
) -> Result<Option<Object>, Failure> {
    let id = id_of(handle);
    if id == 0 {
        return Ok(None);
    }
    let mut r = registry();
    match r.objects.get(&id) {
        Some(o) if is_kind(o) => Ok(r.objects.remove(&id)),
        other => Err(missing(id, argument, wanted, other)),
    }
}
