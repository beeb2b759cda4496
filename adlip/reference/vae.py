"""Reference data from Glazunov and Zarras (2023), typed in by hand from the paper: never an adlip result."""

PAPER_TABLE2 = {
    "source": "Glazunov and Zarras (2023), Vacant Holes ..., PMLR 216, Table 2 (percent; 10-dim latent for "
              "MNIST and Fashion-MNIST, encoder M = 5 by eq. 7)",
    "columns": ("auroc", "auprc", "fpr80"),
    "rows": {
        ("Vanilla VAE", "log-likelihood"): {
            "mnist_vs_fashion_mnist": (99.99, 99.99, 0.00),
            "fashion_mnist_vs_mnist": (54.03, 57.37, 84.70),
            "cifar10_vs_svhn": (61.08, 53.92, 56.25)},
        ("Lipschitz VAE", "std of importance-sampled LLs"): {
            "mnist_vs_fashion_mnist": (99.78, 99.79, 0.06),
            "fashion_mnist_vs_mnist": (99.21, 99.16, 0.84),
            "cifar10_vs_svhn": (86.40, 84.88, 21.59)},
        ("Lipschitz VAE", "hole indicator"): {
            "mnist_vs_fashion_mnist": (99.87, 99.87, 0.00),
            "fashion_mnist_vs_mnist": (99.69, 99.65, 0.28),
            "cifar10_vs_svhn": (91.76, 89.58, 12.30)},
    },
}
# Which of our (model, score) pairs answers each of the paper's rows.
PAPER_ROW_OF = {("vanilla", "log_likelihood"): ("Vanilla VAE", "log-likelihood"),
                ("lipschitz", "importance"): ("Lipschitz VAE", "std of importance-sampled LLs"),
                ("lipschitz", "hole"): ("Lipschitz VAE", "hole indicator")}
PAPER_ABLATION = {"source": "Glazunov and Zarras (2023), Figure 3 (plotted only, no numbers printed)",
                  "encoder_lipschitz": 1.0, "decoder_lipschitz": (1.0, 2.0, 3.0, 4.0, 5.0, 10.0),
                  "train": "fashion_mnist"}
