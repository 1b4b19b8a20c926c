"""Layer 3, the service: the KeyHive facade and its async twin, over the layer-2 protocols."""
