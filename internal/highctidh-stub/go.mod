module codeberg.org/vula/highctidh

go 1.22
