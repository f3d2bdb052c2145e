"""kube-controller-manager's controllers, one module per controller, each a pure component
(`init`/`step`, see `kcore.component.protocol`) that writes only through apiserver requests."""
