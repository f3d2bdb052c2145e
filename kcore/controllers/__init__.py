"""kube-controller-manager's controllers, one module per controller, each a pure component
(`init`/`step`, see `kcore.driver.component`) that writes only through apiserver requests."""
