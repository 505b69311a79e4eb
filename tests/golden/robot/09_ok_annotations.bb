s1 = pick(object=red_cup) @timeout(20 s) @retries(3);
s2 = place(object=red_cup, target=bin_a) @timeout(15000 ms) after s1;
