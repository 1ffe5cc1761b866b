// A request allocates many small values (rows, records, GraphQL values);
// mimalloc serves them far cheaper than glibc's allocator under threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    rapport_server::main();
}
