fn main() {
    rapport_server::main();
}
