//! Where valid events come from: an in-memory list (a replay or the seed-incident
//! scenario) or the load generator; one interface for the server either way.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use crate::events::{Event, EventKey, EventList};
use crate::load::LoadScenario;

#[derive(Debug)]
pub(crate) enum Source {
    List(EventList),
    Load(LoadScenario),
}

impl Source {
    pub fn len(&self) -> usize {
        match self {
            Self::List(list) => list.len(),
            Self::Load(load) => load.count,
        }
    }

    pub fn event(&self, i: usize) -> Cow<'_, Event> {
        match self {
            Self::List(list) => Cow::Borrowed(list.get(i)),
            Self::Load(load) => Cow::Owned(load.event(i)),
        }
    }

    /// The index of the (first) event sent with this SSE id.
    pub fn index_of(&self, sse_id: &str) -> Option<usize> {
        match self {
            Self::List(list) => list.index_of(sse_id),
            Self::Load(load) => load.index_of(sse_id),
        }
    }

    /// The manifest's identity for event `i`: the first index with the same
    /// `(source, id)`, or `None` when the event is not a valid change event.
    pub fn canonical(&self, i: usize) -> Option<usize> {
        match self {
            Self::List(list) => list.canonical(i),
            Self::Load(_) => Some(i),
        }
    }

    /// The `(source, id)` of a valid event, cheaply (the load generator skips the JSON).
    pub fn key(&self, i: usize) -> Option<EventKey> {
        match self {
            Self::List(list) => list.get(i).key.clone(),
            Self::Load(load) => Some(load.key(i)),
        }
    }

    pub fn time(&self, i: usize) -> Option<DateTime<Utc>> {
        match self {
            Self::List(list) => list.get(i).time,
            Self::Load(load) => Some(load.time(i)),
        }
    }
}
