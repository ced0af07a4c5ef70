//! The `olymp` command: serve a node, import question banks, mint staff tokens, run load
//! tests and rehearsals.

fn main() {
    println!("olymp");
}
