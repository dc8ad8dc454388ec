module zdt.dev/zdt-drain

go 1.22
