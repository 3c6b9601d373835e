//! The `select!` macro. What it means is documented in `super::select`;
//! this is how it is put together.

/// Waits on several channel operations; see the module documentation.
#[macro_export]
macro_rules! select {
    ($($cases:tt)*) => {
        $crate::__select!(@parse [] [] $($cases)*)
    };
}

/// Implementation of [`select!`]. `@parse` takes one case per step and
/// names it; since each step is its own expansion, the names it introduces
/// (`__ch`, `__case`, `__out`) are distinct identifiers however many cases
/// there are. `@emit` then evaluates the channels and values in source
/// order in a `match` scrutinee (so temporaries live through the select),
/// runs the select, and dispatches to the arm whose case fired, with no
/// borrow of a channel left, inside a labeled block (see the module
/// documentation on `break`).
#[doc(hidden)]
#[macro_export]
macro_rules! __select {
    (@parse [$($cases:tt)*] $default:tt recv($rx:expr) -> $v:pat => $body:block $($rest:tt)*) => {
        $crate::__select!(@parse [$($cases)* (recv __ch __case __out ($rx) ($v) ($body))] $default $($rest)*)
    };
    (@parse [$($cases:tt)*] $default:tt recv($rx:expr) -> $v:pat => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select!(@parse [$($cases)* (recv __ch __case __out ($rx) ($v) ($body))] $default $($($rest)*)?)
    };
    (@parse [$($cases:tt)*] $default:tt send($tx:expr, $value:expr) => $body:block $($rest:tt)*) => {
        $crate::__select!(@parse [$($cases)* (send __ch __case __out ($tx, $value) () ($body))] $default $($rest)*)
    };
    (@parse [$($cases:tt)*] $default:tt send($tx:expr, $value:expr) => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select!(
            @parse [$($cases)* (send __ch __case __out ($tx, $value) () ($body))] $default $($($rest)*)?
        )
    };
    (@parse $cases:tt [] default => $body:block $($rest:tt)*) => {
        $crate::__select!(@parse $cases [($body)] $($rest)*)
    };
    (@parse $cases:tt [] default => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select!(@parse $cases [($body)] $($($rest)*)?)
    };
    (@parse $cases:tt [$($default:tt)+] default $($rest:tt)*) => {
        ::core::compile_error!("select! takes at most one `default` case")
    };
    // The comma after an arm that is a block is optional, as in `match`.
    (@parse $cases:tt $default:tt , $($rest:tt)+) => {
        $crate::__select!(@parse $cases $default $($rest)+)
    };
    (@parse $cases:tt $default:tt $(,)?) => {
        $crate::__select!(@emit $cases $default)
    };
    (@parse $cases:tt $default:tt $($rest:tt)+) => {
        ::core::compile_error!(
            "select! cases are `recv(rx) -> pattern => arm`, `send(tx, value) => arm` and \
             `default => arm`, separated by commas"
        )
    };
    (@eval recv ($rx:expr)) => { &$rx };
    (@eval send ($tx:expr, $value:expr)) => { (&$tx, $value) };
    (@case recv $ch:ident) => { $crate::sync::select::RecvCase::new($ch) };
    (@case send $ch:ident) => { $crate::sync::select::SendCase::new($ch.0, $ch.1) };
    (@arm recv $got:ident ($v:pat) ($body:expr)) => {{ let $v = $got; $body }};
    (@arm send $got:ident () ($body:expr)) => {{ let () = $got; $body }};
    (@has_default) => { false };
    (@has_default $default:tt) => { true };
    (@default) => { ::core::unreachable!("a select without default always runs a case") };
    (@default ($body:expr)) => { $body };
    (@emit [$(($kind:ident $ch:ident $case:ident $out:ident $args:tt $v:tt $body:tt))*] [$($default:tt)?]) => {{
        let ($($out,)*) = match ($($crate::__select!(@eval $kind $args),)*) {
            ($($ch,)*) => {
                $(let mut $case = $crate::__select!(@case $kind $ch);)*
                $crate::sync::select::select(
                    &mut [$(&mut $case as &mut dyn $crate::sync::select::Case),*],
                    $crate::__select!(@has_default $($default)?),
                );
                ($($case.outcome(),)*)
            }
        };
        #[allow(unused_labels)]
        let __value = '__select: {
            $(if let ::core::option::Option::Some(__got) = $out {
                $crate::__select!(@arm $kind __got $v $body)
            } else)* {
                $crate::__select!(@default $($default)?)
            }
        };
        __value
    }};
}

mod tests {
    use crate::sync::chan;

    crate::ktest! {
        /// `default` may come first or in the middle; it runs only when no
        /// case can go.
        fn default_runs_only_when_no_case_can_go_wherever_it_is_written() {
            let (tx, rx) = chan::<u32>(1);
            let first = select! {
                default => None,
                recv(rx) -> v => v,
            };
            tx.send(5);
            let then = select! {
                default => None,
                recv(rx) -> v => v,
            };
            let middle = select! {
                recv(rx) -> v => v,
                default => Some(0),
                send(tx, 6) => Some(6),
            };
            assert_eq!((first, then, middle, rx.recv()), (None, Some(5), Some(6), Some(6)));
        }

        /// In an arm, `break 'label` and `continue 'label` reach the
        /// enclosing loops (an unlabeled one does not compile; see
        /// `sync::select`).
        fn labeled_break_and_continue_in_arms_reach_the_enclosing_loop() {
            let (tx, rx) = chan::<u32>(8);
            (1..=6).for_each(|v| tx.send(v));
            tx.close();
            let (mut odd, mut seen) = (0, 0);
            'receive: loop {
                select! {
                    recv(rx) -> v => {
                        let Some(v) = v else { break 'receive };
                        seen += 1;
                        if v % 2 == 0 {
                            continue 'receive;
                        }
                        odd += v;
                    }
                }
            }
            assert_eq!((odd, seen), (1 + 3 + 5, 6));
        }
    }
}
