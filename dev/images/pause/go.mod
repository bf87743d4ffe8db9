module rabbit-operator.dev/pause

go 1.22
