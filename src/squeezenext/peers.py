"""The networks SqueezeNext is compared with, by label: one definition for the hardware study, the search and the
bench. SqueezeNet 1.0 and AlexNet are the paper's peers (:data:`squeezenext.paper.PAPER_RATIOS`); the others are
common references. All are torchvision's definitions."""

PEERS: dict[str, str] = {
    "SqueezeNet 1.0": "torchvision:squeezenet1_0",
    "SqueezeNet 1.1": "torchvision:squeezenet1_1",
    "AlexNet": "torchvision:alexnet",
    "VGG-19": "torchvision:vgg19",
    "MobileNetV2": "torchvision:mobilenet_v2",
}
