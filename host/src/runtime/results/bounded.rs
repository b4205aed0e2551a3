//! Strings and lists that are checked against their ceiling while wasmtime lifts them, from
//! the length the guest declares, before a byte is copied. They must be read during the lift:
//! once an export returns, wasmtime runs the guest's post-return function, which frees what it
//! returned, so a value cannot be inspected in place afterwards.
//!
//! These implement wasmtime's `ComponentType` and `Lift` by delegating to `String`'s and
//! `Vec`'s implementations (the traits' items are documented as internal; the behaviour is
//! pinned by wasmtime 48 in Cargo.lock and exercised by `tests/tests/e2e/ceilings.rs`).

use std::marker::PhantomData;

use wasmtime::component::__internal::{CanonicalAbiInfo, InstanceType, InterfaceType, LiftContext};
use wasmtime::component::{ComponentType, Lift};

use super::super::ceilings::OverCeiling;

/// A value's name (as the WIT spells it) and its ceiling.
pub(crate) trait Ceiling: Send + Sync + 'static {
    const WHAT: &'static str;
    const LIMIT: usize;
}

/// A `string` of at most `C::LIMIT` bytes.
pub(crate) struct Text<C> {
    pub text: String,
    ceiling: PhantomData<C>,
}

/// A `list<T>` of at most `C::LIMIT` items.
pub(crate) struct Items<T, C> {
    pub items: Vec<T>,
    ceiling: PhantomData<C>,
}

/// The declared length of a string or list: the second word of its pointer pair.
fn flat_length(src: &[wasmtime::ValRaw; 2]) -> usize {
    src[1].get_u32() as usize
}

fn memory_length(bytes: &[u8]) -> usize {
    bytes.get(4..8).map(|word| u32::from_le_bytes(word.try_into().expect("four bytes")) as usize).unwrap_or(0)
}

/// Strings in `latin1+utf16` mark UTF-16 with the top bit of their length; what is left
/// counts code units. A guest using UTF-16 may so make the host read up to twice and
/// allocate up to three times the ceiling before the byte count is checked after decoding;
/// that is bounded, and Rust guests use UTF-8 (whose length is bytes). Under plain `utf16`
/// the top bit is part of the length, which only a 4 GiB memory could hold; the runtime caps
/// guest memory far below that.
fn declared_units(length: usize) -> usize {
    length & !(1 << 31)
}

fn over<C: Ceiling>(size: usize) -> wasmtime::Error {
    wasmtime::Error::new(OverCeiling::bytes(C::WHAT, size, C::LIMIT))
}

unsafe impl<C: Ceiling> ComponentType for Text<C> {
    type Lower = <String as ComponentType>::Lower;
    const ABI: CanonicalAbiInfo = <String as ComponentType>::ABI;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        <String as ComponentType>::typecheck(ty, types)
    }
}

impl<C: Ceiling> Text<C> {
    fn checked(length: usize, lift: impl FnOnce() -> wasmtime::Result<String>) -> wasmtime::Result<Self> {
        if declared_units(length) > C::LIMIT {
            return Err(over::<C>(declared_units(length)));
        }
        let text = lift()?;
        if text.len() > C::LIMIT {
            return Err(over::<C>(text.len()));
        }
        Ok(Self { text, ceiling: PhantomData })
    }
}

unsafe impl<C: Ceiling> Lift for Text<C> {
    fn linear_lift_from_flat(cx: &mut LiftContext<'_>, ty: InterfaceType, src: &Self::Lower) -> wasmtime::Result<Self> {
        Self::checked(flat_length(src), || String::linear_lift_from_flat(cx, ty, src))
    }

    fn linear_lift_from_memory(cx: &mut LiftContext<'_>, ty: InterfaceType, bytes: &[u8]) -> wasmtime::Result<Self> {
        Self::checked(memory_length(bytes), || String::linear_lift_from_memory(cx, ty, bytes))
    }
}

unsafe impl<T: ComponentType, C: Ceiling> ComponentType for Items<T, C> {
    type Lower = <Vec<T> as ComponentType>::Lower;
    const ABI: CanonicalAbiInfo = <Vec<T> as ComponentType>::ABI;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        <Vec<T> as ComponentType>::typecheck(ty, types)
    }
}

impl<T, C: Ceiling> Items<T, C> {
    fn checked(length: usize, lift: impl FnOnce() -> wasmtime::Result<Vec<T>>) -> wasmtime::Result<Self> {
        if length > C::LIMIT {
            return Err(wasmtime::Error::new(OverCeiling::items(C::WHAT, length, C::LIMIT)));
        }
        Ok(Self { items: lift()?, ceiling: PhantomData })
    }
}

unsafe impl<T: Lift, C: Ceiling> Lift for Items<T, C> {
    fn linear_lift_from_flat(cx: &mut LiftContext<'_>, ty: InterfaceType, src: &Self::Lower) -> wasmtime::Result<Self> {
        Self::checked(flat_length(src), || Vec::<T>::linear_lift_from_flat(cx, ty, src))
    }

    fn linear_lift_from_memory(cx: &mut LiftContext<'_>, ty: InterfaceType, bytes: &[u8]) -> wasmtime::Result<Self> {
        Self::checked(memory_length(bytes), || Vec::<T>::linear_lift_from_memory(cx, ty, bytes))
    }
}

/// Declares ceiling markers: `Name = "wit.value", LIMIT;`.
macro_rules! ceilings {
    ($($marker:ident = $what:literal, $limit:expr;)*) => {$(
        pub(crate) struct $marker;
        impl $crate::runtime::results::bounded::Ceiling for $marker {
            const WHAT: &'static str = $what;
            const LIMIT: usize = $limit;
        }
    )*};
}
pub(crate) use ceilings;

/// The text of an optional bounded string.
pub(crate) fn text<C>(value: Option<Text<C>>) -> Option<String> {
    value.map(|value| value.text)
}
